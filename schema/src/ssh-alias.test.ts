import { describe, expect, it } from 'vitest';
import { sshAlias, vscodeRemoteUri } from './ssh-alias.ts';

describe('sshAlias', () => {
  it('makes a name host-safe: lower-case, [a-z0-9-], runs collapsed', () => {
    expect(sshAlias({ id: 'abcdefghijklmnop', name: 'My GPU box_1!' })).toBe('rg-my-gpu-box-1');
    expect(sshAlias({ id: 'abcdefghijklmnop', name: '--Train  (v2)--' })).toBe('rg-train-v2');
  });
  it('falls back to the id when the name has nothing host-safe', () => {
    expect(sshAlias({ id: 'abcdefghijklmnop', name: '训练' })).toBe('rg-abcdefghijklmnop');
    expect(sshAlias({ id: 'abcdefghijklmnop' })).toBe('rg-abcdefghijklmnop');
  });
  it('bounds the length', () => {
    expect(sshAlias({ id: 'x', name: 'a'.repeat(100) })).toBe(`rg-${'a'.repeat(48)}`);
  });
  it('names the alias in the VS Code URI', () => {
    expect(vscodeRemoteUri({ id: 'abcdefghijklmnop', name: 'Demo' })).toBe(
      'vscode://vscode-remote/ssh-remote+rg-demo/root',
    );
  });
});
