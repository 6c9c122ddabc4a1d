// Chinese (default) console strings; labels follow the seed design document.
export default {
  app: { title: 'RemoteGPU 控制台', language: '语言', logout: '退出登录', menu: '菜单', admin: '管理' },
  nav: {
    market: '算力市场', environments: '环境管理', sshKeys: 'SSH 密钥', tokens: 'API 令牌', usage: '用量与费用', audit: '审计日志',
    hosts: '主机', machines: '机器池', images: '镜像', users: '用户',
  },
  common: {
    loading: '加载中…', empty: '暂无数据', retry: '重试', refresh: '刷新', cancel: '取消', confirm: '确定', create: '创建', delete: '删除',
    save: '保存', copy: '复制', copied: '已复制', copyFailed: '复制失败', actions: '操作', name: '名称', status: '状态', createdAt: '创建时间',
    yes: '是', no: '否', close: '关闭', add: '添加', show: '显示', hide: '隐藏', all: '全部', error: '出错了', done: '完成',
  },
  auth: {
    login: '登录', register: '注册', email: '邮箱', password: '密码', noAccount: '没有账号？注册', haveAccount: '已有账号？登录',
    welcome: 'GPU 算力租用与访问平台', passwordHint: '至少 8 个字符',
  },
  status: {
    available: '可租用', allocated: '已租出', maintenance: '维护中', creating: '创建中', running: '运行中', stopped: '已停止',
    failed: '失败', deleting: '删除中', online: '在线', offline: '离线', success: '成功', failure: '失败',
  },
  type: { physical: '物理机', container: '容器' },
  market: {
    region: '地区', gpuModel: 'GPU 型号', availability: '可用性', onlyAvailable: '仅可租用', gpu: 'GPU', gpuMemory: '显存', cpu: 'CPU',
    memory: '内存', disk: '硬盘', monthly: '/月', rent: '租用', rentTitle: '租用 {name}', rentName: '环境名称（可选）',
    rentConfirm: '确认租用（按月计费 ¥{price}/月）', rented: '租用成功', cores: '{n}核', allRegions: '全部地区', allModels: '全部型号',
  },
  env: {
    create: '创建环境', createTitle: '创建容器环境', image: '镜像', gpuCount: 'GPU 数量', cpuCores: 'CPU 核数', memoryGb: '内存 (GB)',
    resources: '资源', type: '类型', start: '启动', stop: '停止', restart: '重启', rotate: '重置密码', details: '详情', monitor: '监控',
    confirmAction: '确定要{action}环境 {name} 吗？', confirmDelete: '确定删除环境 {name}？数据将无法恢复。',
    confirmRotate: '重置 {name} 的 SSH 密码？旧密码在下次登录时失效。', confirmRelease: '确定释放物理机 {name}？机器将回到机器池。',
    release: '释放', progress: '创建进度', creatingWait: '正在创建容器，请稍候…', createFailed: '创建失败', created: '环境已就绪',
    noImages: '没有可用镜像', actionDone: '操作成功', back: '返回列表', reason: '原因', perHour: '¥{price}/小时',
  },
  login: {
    title: 'SSH 登录信息', host: '连接主机', port: '端口', username: '用户名', password: '密码', command: 'SSH 命令',
    config: '~/.ssh/config 配置', targetIp: '目标 IP', reveal: '显示密码', conceal: '隐藏密码',
  },
  apps: {
    title: '应用访问', jupyter: 'Jupyter', open: '打开', public: '公开访问', port: '端口', addPort: '添加端口', portHint: '例如 6006',
    firstByte: '首字节超时', firstByteNone: '不限', firstByteSeconds: '{s} 秒',
  },
  metrics: {
    title: '资源监控', gpu: 'GPU 利用率', gpuMemory: '显存', cpu: 'CPU 使用率', memory: '内存使用率', network: '网络',
    networkIn: '接收', networkOut: '发送', waiting: '等待指标上报（每 10 秒一次）…', updated: '更新于 {time}', reachable: '可达',
  },
  recordings: { title: '会话录像', download: '下载', size: '大小', started: '开始', ended: '结束' },
  keys: { add: '添加密钥', publicKey: '公钥', fingerprint: '指纹', confirmDelete: '删除密钥 {name}？', placeholder: "ssh-ed25519 AAAA… user{'@'}host" },
  tokens: {
    create: '创建令牌', prefix: '前缀', lastUsed: '最近使用', expires: '过期时间', never: '永不', days: '有效天数（可选）',
    shownOnce: '令牌只显示这一次，请妥善保存：', confirmRevoke: '吊销令牌 {name}？', revoke: '吊销',
  },
  usage: {
    total: '合计', kind: '计费方式', hourly: '按小时', monthly: '按月', start: '开始', end: '结束', unitPrice: '单价', units: '数量', amount: '金额',
    ongoing: '进行中', environment: '环境',
  },
  audit: {
    time: '时间', event: '事件', sourceIp: '来源 IP', username: '用户名', environment: '环境', detail: '详情', allUsers: '所有用户',
    onlyLogins: '仅登录事件',
  },
  hosts: {
    add: '添加主机', publicHost: 'SSH 公网地址', sharedPort: '共享 SSH 端口', lastSeen: '最近在线', inventory: '资源', agentVersion: 'Agent 版本',
    drained: '已排空', drain: '排空', undrain: '恢复', rotateToken: '轮换令牌', install: '在 GPU 主机上运行：', tokenOnce: '令牌只显示一次。',
    gpus: '{n} 块 GPU', confirmDelete: '删除主机 {name}？', confirmRotate: '轮换 {name} 的令牌？旧令牌立即失效。',
  },
  machines: { add: '添加机器', targetIp: '内网 IP', sshPort: 'SSH 端口', host: '中继主机', price: '月价', setMaintenance: '设为维护', setAvailable: '设为可用',
    confirmDelete: '将机器 {name} 移出机器池？', rented: '已出租：需租户先释放',
    hostKey: '主机密钥', pinned: '已固定', notPinned: '未固定',
    rootPassword: 'root 密码（一次性，可选）',
    rootPasswordHint: '中继用它登录一次，为 root 授权自己的密钥并固定机器的主机密钥。密码不会被保存。若中继密钥已授权，可留空。' },
  images: { add: '添加镜像', dockerRef: 'Docker 镜像', hasSshd: '内置 sshd', hourlyPrice: '小时价', description: '描述' },
  users: { role: '角色', admin: '管理员', user: '用户' },
};
