// English console strings (same keys as zh-CN).
import type zh from './zh-CN.ts';

const en: typeof zh = {
  app: { title: 'RemoteGPU Console', language: 'Language', logout: 'Log out', menu: 'Menu', admin: 'Admin' },
  nav: {
    market: 'Computing market', environments: 'Environments', sshKeys: 'SSH keys', tokens: 'API tokens', usage: 'Usage & charges', audit: 'Audit log',
    hosts: 'Hosts', machines: 'Machines', images: 'Images', users: 'Users',
  },
  common: {
    loading: 'Loading…', empty: 'Nothing here yet', retry: 'Retry', refresh: 'Refresh', cancel: 'Cancel', confirm: 'OK', create: 'Create', delete: 'Delete',
    save: 'Save', copy: 'Copy', copied: 'Copied', copyFailed: 'Copy failed', actions: 'Actions', name: 'Name', status: 'Status', createdAt: 'Created',
    yes: 'Yes', no: 'No', close: 'Close', add: 'Add', show: 'Show', hide: 'Hide', all: 'All', error: 'Something went wrong', done: 'Done',
  },
  auth: {
    login: 'Log in', register: 'Register', email: 'Email', password: 'Password', noAccount: 'No account? Register', haveAccount: 'Have an account? Log in',
    welcome: 'GPU rental and access platform', passwordHint: 'at least 8 characters',
  },
  status: {
    available: 'Available', allocated: 'Rented', maintenance: 'Maintenance', creating: 'Creating', running: 'Running', stopped: 'Stopped',
    failed: 'Failed', deleting: 'Deleting', online: 'Online', offline: 'Offline', success: 'Success', failure: 'Failure',
  },
  type: { physical: 'Physical', container: 'Container' },
  market: {
    region: 'Region', gpuModel: 'GPU model', availability: 'Availability', onlyAvailable: 'Available only', gpu: 'GPU', gpuMemory: 'GPU memory', cpu: 'CPU',
    memory: 'Memory', disk: 'Disk', monthly: '/month', rent: 'Rent', rentTitle: 'Rent {name}', rentName: 'Environment name (optional)',
    rentConfirm: 'Rent it (billed monthly, ¥{price}/month)', rented: 'Rented', cores: '{n} cores', allRegions: 'All regions', allModels: 'All models',
  },
  env: {
    create: 'Create environment', createTitle: 'Create a container environment', image: 'Image', gpuCount: 'GPUs', cpuCores: 'CPU cores', memoryGb: 'Memory (GB)',
    resources: 'Resources', type: 'Type', start: 'Start', stop: 'Stop', restart: 'Restart', rotate: 'Reset password', details: 'Details', monitor: 'Monitor',
    confirmAction: '{action} environment {name}?', confirmDelete: 'Delete environment {name}? Its data cannot be recovered.',
    confirmRotate: 'Reset the SSH password of {name}? The old one stops working at the next login.', confirmRelease: 'Release machine {name}? It returns to the pool.',
    release: 'Release', progress: 'Progress', creatingWait: 'Creating the container…', createFailed: 'Creation failed', created: 'Environment is ready',
    noImages: 'No images available', actionDone: 'Done', back: 'Back to the list', reason: 'Reason', perHour: '¥{price}/hour',
  },
  login: {
    title: 'SSH login', host: 'Host', port: 'Port', username: 'Username', password: 'Password', command: 'SSH command',
    config: '~/.ssh/config entry', targetIp: 'Target IP', reveal: 'Show password', conceal: 'Hide password',
  },
  apps: {
    title: 'Apps', jupyter: 'Jupyter', open: 'Open', public: 'Public', port: 'Port', addPort: 'Add port', portHint: 'e.g. 6006',
    firstByte: 'First-byte limit', firstByteNone: 'none', firstByteSeconds: '{s} s',
  },
  metrics: {
    title: 'Monitoring', gpu: 'GPU utilisation', gpuMemory: 'GPU memory', cpu: 'CPU usage', memory: 'Memory usage', network: 'Network',
    networkIn: 'In', networkOut: 'Out', waiting: 'Waiting for metrics (reported every 10 s)…', updated: 'Updated {time}', reachable: 'Reachable',
  },
  recordings: { title: 'Session recordings', download: 'Download', size: 'Size', started: 'Started', ended: 'Ended' },
  keys: { add: 'Add key', publicKey: 'Public key', fingerprint: 'Fingerprint', confirmDelete: 'Delete key {name}?', placeholder: "ssh-ed25519 AAAA… user{'@'}host" },
  tokens: {
    create: 'Create token', prefix: 'Prefix', lastUsed: 'Last used', expires: 'Expires', never: 'Never', days: 'Valid for days (optional)',
    shownOnce: 'The token is shown only once; keep it safe:', confirmRevoke: 'Revoke token {name}?', revoke: 'Revoke',
  },
  usage: {
    total: 'Total', kind: 'Billing', hourly: 'Hourly', monthly: 'Monthly', start: 'Start', end: 'End', unitPrice: 'Unit price', units: 'Units', amount: 'Amount',
    ongoing: 'ongoing', environment: 'Environment',
  },
  audit: {
    time: 'Time', event: 'Event', sourceIp: 'Source IP', username: 'Username', environment: 'Environment', detail: 'Detail', allUsers: 'All users',
    onlyLogins: 'Logins only',
  },
  hosts: {
    add: 'Add host', publicHost: 'Public SSH host', sharedPort: 'Shared SSH port', lastSeen: 'Last seen', inventory: 'Inventory', agentVersion: 'Agent version',
    drained: 'Drained', drain: 'Drain', undrain: 'Undrain', rotateToken: 'Rotate token', install: 'Run on the GPU host:', tokenOnce: 'The token is shown only once.',
    gpus: '{n} GPU(s)', confirmDelete: 'Delete host {name}?', confirmRotate: 'Rotate the token of {name}? The old one stops working at once.',
  },
  machines: { add: 'Add machine', targetIp: 'LAN IP', sshPort: 'SSH port', host: 'Relay host', price: 'Monthly price', setMaintenance: 'Maintenance', setAvailable: 'Make available',
    confirmDelete: 'Remove machine {name} from the pool?', rented: 'Rented: the renter must release it first',
    hostKey: 'Host key', pinned: 'Pinned', notPinned: 'Not pinned',
    rootPassword: 'Root password (one-time, optional)',
    rootPasswordHint: "The relay logs in once with it, authorizes its own key for root and pins the machine's host key. The password is not stored. Leave it empty if the relay's key is already authorized." },
  images: { add: 'Add image', dockerRef: 'Docker image', hasSshd: 'Has sshd', hourlyPrice: 'Hourly price', description: 'Description' },
  users: { role: 'Role', admin: 'Admin', user: 'User' },
};
export default en;
