// Each owner's own bridge network: created on demand with labels, removed when its last container is gone.
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';
import { LABEL, ownerNetworkName } from './labels.ts';

async function findNetwork(docker: Dockerode, ownerId: string): Promise<Dockerode.NetworkInspectInfo | undefined> {
  const name = ownerNetworkName(ownerId);
  // The name filter matches substrings: compare exactly, and only trust networks we labelled.
  const list = await docker.listNetworks({ filters: { label: [`${LABEL.owner}=${ownerId}`] } });
  return list.find((n) => n.Name === name && n.Labels?.[LABEL.managed] === '1');
}

/** Callers hold the owner's lock, so two creates cannot both make the network. */
export async function ensureOwnerNetwork(docker: Dockerode, ownerId: string, log: Logger): Promise<string> {
  const name = ownerNetworkName(ownerId);
  if (await findNetwork(docker, ownerId)) return name;
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABEL.owner]: ownerId, [LABEL.managed]: '1' },
    });
    log.info('owner network created', { network: name, owner: ownerId });
  } catch (err) {
    // A leftover network with our name but not our labels: refuse rather than join a stranger's network.
    if ((err as { statusCode?: number }).statusCode === 409 && (await findNetwork(docker, ownerId))) return name;
    throw err;
  }
  return name;
}

/** Removes the owner's network when no container (running or not) is attached to it any more. */
export async function removeOwnerNetworkIfEmpty(docker: Dockerode, ownerId: string, log: Logger): Promise<boolean> {
  const net = await findNetwork(docker, ownerId);
  if (!net) return false;
  const users = await docker.listContainers({ all: true, filters: { network: [net.Id] } });
  if (users.length > 0) return false;
  try {
    await docker.getNetwork(net.Id).remove();
    log.info('owner network removed', { network: net.Name, owner: ownerId });
    return true;
  } catch (err) {
    log.warn('could not remove an owner network', { network: net.Name, err });
    return false;
  }
}
