// Teams in the console, two renters in two browsers: the owner creates a team, adds the other by email, switches the
// header to the team and creates an environment there (the team pays); the member sees it, acts for the team, is made
// read-only (write buttons disabled), then removed (the remembered team is dropped). zh-CN, then English.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { launchChromium, shot } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

const OWNER = { email: 'team-owner@e2e.test', password: 'owner-password-0123' };
const MEMBER = { email: 'team-member@e2e.test', password: 'member-password-0123' };
const TEAM = 'GPU 实验室';
let stack: Stack;
let browser: Browser;
let owner: Page;
let member: Page;
let teamId = '';
let envId = '';

const sel = (id: string) => `[data-test="${id}"]`;
/** The text box of an Element Plus input: the attribute lands on the <input> itself or on its wrapper. */
const field = (page: Page, id: string) => page.locator(`input${sel(id)}, ${sel(id)} input`).first();

async function pickOption(page: Page, selectTestId: string, label: string): Promise<void> {
  await page.click(sel(selectTestId));
  await page.locator('.el-select-dropdown__item:visible', { hasText: label }).first().click();
}

async function fillNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = field(page, testId);
  await input.fill(String(value));
  await input.press('Tab');
}

async function openAs(user: { email: string; password: string }): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${stack.url}/login`);
  await field(page, 'login-email').fill(user.email);
  await field(page, 'login-password').fill(user.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/);
  return page;
}

const token = async (user: { email: string; password: string }) =>
  ok('login', await stack.api<{ token: string }>('/api/v1/auth/login', { body: user })).token;

/** The header's team switch shows this label. */
const switchShows = (page: Page) =>
  page
    .locator(`${sel('team-switch')} .el-select__placeholder`)
    .first()
    .textContent();

beforeAll(async () => {
  stack = await startStack();
  ok('register owner', await stack.api('/api/v1/auth/register', { body: OWNER }));
  ok('register member', await stack.api('/api/v1/auth/register', { body: MEMBER }));
  browser = await launchChromium();
  owner = await openAs(OWNER);
  member = await openAs(MEMBER);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('teams in the console', () => {
  // One story told in order: after a failed step the rest would only time out.
  let broken = false;
  beforeEach((ctx) => {
    if (broken) ctx.skip();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') broken = true;
  });

  it('the owner creates a team and adds the other renter by email; the last owner cannot step down', async () => {
    await owner.click(sel('nav-teams'));
    await owner.waitForURL(/\/teams$/);
    await expect.poll(() => owner.locator(sel('teams-table')).textContent()).toContain('个人账户');
    await owner.click(sel('create-team'));
    await field(owner, 'team-name').fill(TEAM);
    await owner.click(sel('team-submit'));
    await expect.poll(() => owner.locator(sel('teams-table')).textContent()).toContain(TEAM);
    const teams = ok(
      'teams',
      await stack.api<{ items: { id: string; name: string; role: string }[] }>('/api/v1/teams', {
        token: await token(OWNER),
      }),
    ).items;
    const team = teams.find((x) => x.name === TEAM)!;
    expect(team.role).toBe('owner');
    teamId = team.id;

    await field(owner, 'member-email').fill(MEMBER.email);
    await owner.click(sel('member-add'));
    const members = owner.locator(sel('members-table'));
    await expect.poll(() => members.textContent()).toContain(MEMBER.email);
    await expect(members.textContent()).resolves.toContain('成员');
    await shot(owner, 'teams-01-members');

    // Adding someone twice, and the only owner stepping down, are refused with a clear message.
    await field(owner, 'member-email').fill(MEMBER.email);
    await owner.click(sel('member-add'));
    await expect.poll(() => owner.locator('.el-message--error').last().textContent()).toContain('该用户已是团队成员');
    await pickOption(owner, `member-role-${OWNER.email}`, '成员');
    await expect
      .poll(() => owner.locator('.el-message--error').last().textContent())
      .toContain('团队至少要保留一位所有者');
    await expect(owner.locator('.el-message--error').last().textContent()).resolves.toContain('last_owner');
    await shot(owner, 'teams-02-last-owner');
  });

  it('the owner switches to the team and creates an environment there, paid by the team', async () => {
    ok(
      'credit the team',
      await stack.api(`/api/v1/admin/accounts/${teamId}/credits`, {
        token: await stack.admin(),
        body: { amount: 50_000, kind: 'credit', description: 'e2e team credit' },
      }),
    );
    await pickOption(owner, 'team-switch', TEAM);
    await expect.poll(() => switchShows(owner)).toBe(TEAM);
    expect(await owner.evaluate(() => localStorage.getItem('remotegpu.team'))).toBe(teamId);

    await owner.click(sel('nav-environments'));
    await owner.waitForURL(/\/environments$/);
    await owner.click(sel('create-env'));
    await expect(owner.locator(sel('create-team-note')).textContent()).resolves.toContain(TEAM);
    await field(owner, 'create-name').fill('team-box');
    await pickOption(owner, 'create-image', 'busybox:demo');
    await fillNumber(owner, 'create-cpus', 1);
    await fillNumber(owner, 'create-memory', 1);
    await owner.click(sel('create-submit'));
    await owner
      .locator(`${sel('create-ready')}, ${sel('create-failed')}, ${sel('create-error')}`)
      .first()
      .waitFor({ timeout: 90_000 });
    const failed = await owner.locator(`${sel('create-failed')}, ${sel('create-error')}`).count();
    if (failed) throw new Error(`create failed: ${await owner.locator(sel('create-dialog')).textContent()}`);
    await owner.keyboard.press('Escape');
    const row = owner.locator(`${sel('env-table')} .el-table__row`, { hasText: 'team-box' });
    await expect.poll(() => row.locator(sel('env-team')).textContent()).toBe(TEAM);
    envId = (await row.locator('a[data-test^="env-"]').getAttribute('data-test'))!.slice(4);
    await shot(owner, 'teams-03-owner-environments');

    // The environment is the team's, and the team's balance paid (the owner's own did not).
    const env = ok(
      'environment',
      await stack.api<{ environment: { team_id: string | null } }>(`/api/v1/environments/${envId}`, {
        token: await token(OWNER),
      }),
    ).environment;
    expect(env.team_id).toBe(teamId);
    await owner.click(sel('nav-billing'));
    await expect.poll(() => owner.locator(sel('balance')).textContent()).toMatch(/\b\d{3}\.\d{2}/);
    await expect(owner.locator(sel('balance')).textContent()).resolves.not.toContain('10,000,000');
    await expect(owner.locator(`${sel('ledger')} .el-table__body`).textContent()).resolves.toContain('e2e team credit');
    // The CSV export is the team's too (a link cannot send the header: the console fetches it with it).
    const [download] = await Promise.all([owner.waitForEvent('download'), owner.click(sel('ledger-csv'))]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv).toContain('e2e team credit');
    expect(csv).not.toContain('sign-up credit');
  });

  it('the member sees the team environment, acts for the team, and keeps the choice across a reload', async () => {
    await member.click(sel('nav-environments'));
    await member.waitForURL(/\/environments$/);
    const row = member.locator(`${sel('env-table')} .el-table__row`, { hasText: 'team-box' });
    await expect.poll(() => row.locator(sel('env-team')).textContent()).toBe(TEAM);
    await pickOption(member, 'team-switch', TEAM);
    await expect.poll(() => switchShows(member)).toBe(TEAM);
    await expect.poll(() => row.textContent()).toContain('运行中');
    await expect(member.locator(sel('create-env')).isDisabled()).resolves.toBe(false);
    await shot(member, 'teams-04-member-environments');

    await member.click(sel('nav-billing'));
    await expect
      .poll(() => member.locator(`${sel('ledger')} .el-table__body`).textContent())
      .toContain('e2e team credit');
    await member.reload();
    await expect.poll(() => switchShows(member)).toBe(TEAM);
    await expect
      .poll(() => member.locator(`${sel('ledger')} .el-table__body`).textContent())
      .toContain('e2e team credit');
    // Back on the personal account the ledger is the member's own again.
    await pickOption(member, 'team-switch', '个人账户');
    await expect
      .poll(() => member.locator(`${sel('ledger')} .el-table__body`).textContent())
      .toContain('sign-up credit');
    await expect(member.locator(`${sel('ledger')} .el-table__body`).textContent()).resolves.not.toContain(
      'e2e team credit',
    );
    await pickOption(member, 'team-switch', TEAM);
    await expect.poll(() => switchShows(member)).toBe(TEAM);
  });

  it('made read-only, the member finds the write buttons disabled', async () => {
    await pickOption(owner, 'team-switch', '个人账户');
    await owner.click(sel('nav-teams'));
    await owner.click(sel(`team-members-${teamId}`));
    await pickOption(owner, `member-role-${MEMBER.email}`, '只读');
    await expect.poll(() => owner.locator('.el-message--success').last().textContent()).toContain('只读');

    await member.click(sel('nav-environments'));
    await member.waitForURL(/\/environments$/);
    await member.reload();
    await expect.poll(() => switchShows(member)).toBe(`${TEAM} (只读)`);
    await member.locator(sel('read-only-note')).waitFor();
    await expect(member.locator(sel('create-env')).isDisabled()).resolves.toBe(true);
    const row = member.locator(`${sel('env-table')} .el-table__row`, { hasText: 'team-box' });
    await expect(row.locator(sel('act-stop')).isDisabled()).resolves.toBe(true);
    await shot(member, 'teams-05-read-only');
  });

  it('removed from the team, the member is back on the personal account; the page reads in English too', async () => {
    await owner.locator(sel(`member-remove-${MEMBER.email}`)).click();
    await owner.locator('.el-message-box__btns .el-button--primary').click();
    await expect.poll(() => owner.locator(sel('members-table')).textContent()).not.toContain(MEMBER.email);

    await member.reload();
    await expect.poll(() => switchShows(member)).toBe('个人账户');
    expect(await member.evaluate(() => localStorage.getItem('remotegpu.team'))).toBeNull();
    await expect.poll(() => member.locator(sel('environments-page')).textContent()).not.toContain('team-box');

    await owner.click(sel('lang-switch'));
    await owner.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).first().click();
    await expect.poll(() => owner.locator(sel('nav-teams')).textContent()).toBe('Teams');
    await expect.poll(() => owner.locator(sel('teams-table')).textContent()).toContain('Owner');
    await expect(owner.locator(sel('team-members')).textContent()).resolves.toContain(`Members of ${TEAM}`);
    await shot(owner, 'teams-06-english');
  });
});
