// A dockerode client from the --docker setting (unix:///path or tcp://host:port).
import Dockerode from 'dockerode';

export function dockerFromUrl(url: string): Dockerode {
  if (url.startsWith('unix://')) return new Dockerode({ socketPath: url.slice('unix://'.length) });
  const u = new URL(url.replace(/^tcp:/, 'http:'));
  return new Dockerode({ host: u.hostname, port: Number(u.port), protocol: 'http' });
}
