// The ssh command and ~/.ssh/config entry shown in the login block.
import { expect, it } from 'vitest';
import { sshCommand, sshConfig } from './ssh.ts';

const access = {
  environment_id: '6hiflzwte2xnkroq',
  ssh_host: '6hiflzwte2xnkroq.ssh.x-gpu.com',
  ssh_port: 56376,
  ssh_username: 'root',
};

it('gives a ready ssh command and a config entry with the same port, user and host', () => {
  expect(sshCommand(access)).toBe('ssh -p 56376 root@6hiflzwte2xnkroq.ssh.x-gpu.com');
  expect(sshConfig(access)).toBe(
    'Host rg-6hiflzwte2xnkroq\n  HostName 6hiflzwte2xnkroq.ssh.x-gpu.com\n  Port 56376\n  User root',
  );
});

it('names the config entry by the host alias the VS Code link opens', () => {
  expect(sshConfig(access, 'rg-train-v2').split('\n')[0]).toBe('Host rg-train-v2');
});
