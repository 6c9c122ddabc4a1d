// The CLI's main messages (errors and help summaries) in English and Simplified Chinese, chosen by the locale.
const en = {
  'program.summary': 'RemoteGPU for renters: log in, manage environments, ssh and copy files',
  'exit.codes':
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 auth (401/403), 4 not found, 5 no capacity, 6 network/unreachable.\n`ssh`, `cp` and `port-forward` exit with OpenSSH's own status once connected.",
  'cmd.login': 'Log in (a browser approval, or --token for scripts)',
  'cmd.logout': 'Forget the stored token',
  'cmd.whoami': 'Show the account you are logged in as',
  'cmd.ls': 'List your environments',
  'cmd.images': 'List the images environments are created from',
  'cmd.market': 'List the machines of the computing market',
  'cmd.create': 'Create a container environment',
  'cmd.rent': 'Rent a physical machine from the market',
  'cmd.start': 'Start an environment',
  'cmd.stop': 'Stop an environment',
  'cmd.restart': 'Restart an environment',
  'cmd.rm': 'Delete an environment',
  'cmd.rotate': 'Generate a new SSH password',
  'cmd.ssh': 'Open an SSH session (or run a command) with no password typed',
  'cmd.configSsh': 'Write a Host rg-<name> entry per environment into ~/.ssh/config',
  'cmd.cp': 'Copy files with scp: rg-<name>:path or <env>:path',
  'cmd.portForward': 'Forward a local port to a port inside the environment',
  'cmd.open': 'Open the environment in VS Code, or an app port in the browser',
  'cmd.completion': 'Print a shell completion script (bash or zsh)',
  'opt.json': 'print JSON',
  'opt.url': 'the console URL',
  'err.notLoggedIn': 'not logged in: run `remotegpu login`',
  'err.unreachable': 'cannot reach {url}: {reason}',
  'err.envNotFound': 'no environment named or numbered {env}',
  'err.envAmbiguous': '{count} environments are named {env}: use the id',
  'err.machineNotFound': 'no machine named or numbered {machine}',
  'err.imageNotFound': 'no image named or numbered {image}',
  'err.notRunning': '{env} is {status}: `remotegpu start {env}` first',
  'err.noSsh': 'OpenSSH ({program}) is not installed or not on the PATH',
  'err.expired': 'the code expired before it was approved: run `remotegpu login` again',
  'login.visit': 'Open {url} and approve the code {code}',
  'login.waiting': 'Waiting for approval…',
  'login.done': 'Logged in to {url} as {email}',
  'logout.done': 'Logged out',
  'key.created': 'Made an SSH key for this CLI: {path}',
  'key.registered': 'Added its public key to your account',
  'configSsh.written': 'Updated {file} ({count} hosts)',
  'configSsh.removed': 'Removed the RemoteGPU block from {file}',
  'configSsh.unchanged': '{file} is up to date',
  'forward.ready': 'Forwarding 127.0.0.1:{local} to port {remote} of {env}; Ctrl-C stops',
} as const;
export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'program.summary': 'RemoteGPU 租户命令行：登录、管理环境、SSH 与文件复制',
  'exit.codes':
    '退出码：0 成功，1 其他错误，2 用法错误，3 认证失败（401/403），4 未找到，5 资源不足，6 网络不可达。\n`ssh`、`cp` 和 `port-forward` 连接后以 OpenSSH 自身的状态退出。',
  'cmd.login': '登录（浏览器确认，或脚本使用 --token）',
  'cmd.logout': '删除保存的令牌',
  'cmd.whoami': '显示当前登录的账号',
  'cmd.ls': '列出你的环境',
  'cmd.images': '列出可用于创建环境的镜像',
  'cmd.market': '列出算力市场的机器',
  'cmd.create': '创建容器环境',
  'cmd.rent': '从算力市场租用物理机',
  'cmd.start': '启动环境',
  'cmd.stop': '停止环境',
  'cmd.restart': '重启环境',
  'cmd.rm': '删除环境',
  'cmd.rotate': '重新生成 SSH 密码',
  'cmd.ssh': '免密码打开 SSH 会话（或执行命令）',
  'cmd.configSsh': '在 ~/.ssh/config 中为每个环境写入 Host rg-<名称>',
  'cmd.cp': '用 scp 复制文件：rg-<名称>:路径 或 <环境>:路径',
  'cmd.portForward': '把本地端口转发到环境内的端口',
  'cmd.open': '用 VS Code 打开环境，或在浏览器中打开应用端口',
  'cmd.completion': '输出 shell 补全脚本（bash 或 zsh）',
  'opt.json': '输出 JSON',
  'opt.url': '控制台地址',
  'err.notLoggedIn': '尚未登录：请运行 `remotegpu login`',
  'err.unreachable': '无法连接 {url}：{reason}',
  'err.envNotFound': '没有名称或 ID 为 {env} 的环境',
  'err.envAmbiguous': '有 {count} 个环境名为 {env}：请使用 ID',
  'err.machineNotFound': '没有名称或编号为 {machine} 的机器',
  'err.imageNotFound': '没有名称或编号为 {image} 的镜像',
  'err.notRunning': '{env} 的状态为 {status}：请先运行 `remotegpu start {env}`',
  'err.noSsh': '未安装 OpenSSH（{program}）或不在 PATH 中',
  'err.expired': '验证码在确认前已过期：请重新运行 `remotegpu login`',
  'login.visit': '请打开 {url} 并确认验证码 {code}',
  'login.waiting': '等待确认…',
  'login.done': '已以 {email} 登录 {url}',
  'logout.done': '已退出登录',
  'key.created': '已为本命令行生成 SSH 密钥：{path}',
  'key.registered': '已将其公钥添加到你的账号',
  'configSsh.written': '已更新 {file}（{count} 个主机）',
  'configSsh.removed': '已从 {file} 移除 RemoteGPU 配置块',
  'configSsh.unchanged': '{file} 已是最新',
  'forward.ready': '正在把 127.0.0.1:{local} 转发到 {env} 的端口 {remote}；按 Ctrl-C 停止',
};

/** zh when LC_ALL, LC_MESSAGES or LANG (the first one set) starts with zh, as gettext decides. */
export function isChinese(env: NodeJS.ProcessEnv = process.env): boolean {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh');
}

export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text: string = isChinese() ? zh[key] : en[key];
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
