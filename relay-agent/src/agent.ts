// The relay agent: wires state, keys, routes, the tunnel, the Docker driver, metrics and the SSH gateway together.
import ssh2 from 'ssh2';
import { EVENT, MSG, PROTOCOL_VERSION } from '@remotegpu/schema';
import type { AuditRecord, Hello } from '@remotegpu/schema';
import { DataShards } from './apps/data-client.ts';
import { METRICS_BACKLOG_MS, Outbox } from './audit/outbox.ts';
import { openSftp } from './files/open-sftp.ts';
import { connectUrl } from './config.ts';
import type { AgentConfig } from './config.ts';
import type { Logger } from './contracts.ts';
import { registerContainerCommands } from './docker/commands.ts';
import { dockerFromUrl } from './docker/connect.ts';
import { DockerDriver } from './docker/driver.ts';
import { watchContainerEvents } from './docker/events.ts';
import { relayIdOf } from './docker/labels.ts';
import { registerImageCommands } from './docker/saved-images.ts';
import { collectInventory } from './inventory/inventory.ts';
import { runNvidiaSmi } from './inventory/nvidia-smi.ts';
import type { NvidiaSmi } from './inventory/nvidia-smi.ts';
import { RunningMeter } from './metering/meter.ts';
import { AutoStop } from './lifecycle/auto-stop.ts';
import { MetricsCollector } from './metrics/collector.ts';
import { MemoryRouteTable } from './routes/route-table.ts';
import { availableParallelism } from 'node:os';
import { startSshGateway } from './ssh/gateway.ts';
import { requireNativeCrypto } from './ssh/native.ts';
import { loadOrCreateKeys } from './ssh/keys.ts';
import { DEFAULT_LIMITS } from './ssh/limits.ts';
import { TerminalSessions } from './terminal/sessions.ts';
import { registerTargetCommands } from './ssh/target-commands.ts';
import { StateStore } from './state/store.ts';
import { systemClock } from './tunnel/clock.ts';
import { CommandDispatcher } from './tunnel/dispatcher.ts';
import { TunnelClient } from './tunnel/client.ts';
import type { TunnelOptions } from './tunnel/client.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentOverrides {
  nvidiaSmi?: NvidiaSmi;
  metricsIntervalMs?: number;
  /** How often running time is reported for billing (default 60 s). */
  meterIntervalMs?: number;
  /** How often idle and scheduled stops are checked (default 10 s). */
  autoStopIntervalMs?: number;
  /** Tunnel knobs for tests (timeouts, backoff). */
  tunnel?: Partial<Pick<TunnelOptions, 'connectTimeoutMs' | 'heartbeatMs' | 'backoff' | 'stableMs'>>;
}

export interface RunningAgent {
  tunnel: TunnelClient;
  /** The K data connections carrying app traffic (`--data-shards`). */
  data: DataShards;
  store: StateStore;
  routes: MemoryRouteTable;
  driver: DockerDriver;
  outbox: Outbox;
  /** Settles when the tunnel ends: rejects on a permanent error (refused token). */
  done: Promise<void>;
  stop(): Promise<void>;
}

const AUTO_STOP_INTERVAL_MS = 10_000;

/** How long the hello waits for Docker (inventory, container list) before going without. */
const HELLO_DOCKER_MS = 10_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Results older than a week are never asked for again. */
const RESULT_TTL_MS = 7 * 24 * 3600_000;

export async function startAgent(
  config: AgentConfig,
  log: Logger,
  overrides: AgentOverrides = {},
): Promise<RunningAgent> {
  log.info('relay agent starting', {
    version: AGENT_VERSION,
    edge: config.edge,
    state_dir: config.stateDir,
    docker: config.docker,
  });
  // Before any state is touched: a relay that would run SSH at half speed does not start unless told to.
  requireNativeCrypto(log, config.sshNativeCrypto === 'prefer');

  const store = StateStore.open(config.stateDir);
  const pruned = store.pruneResults(RESULT_TTL_MS);
  if (pruned > 0) log.debug('old command results pruned', { count: pruned });
  const keys = await loadOrCreateKeys(store);
  const docker = dockerFromUrl(config.docker);
  const nvidiaSmi = overrides.nvidiaSmi ?? runNvidiaSmi;
  const routes = new MemoryRouteTable(store, log.child({ component: 'routes' }));
  const outbox = new Outbox(store, log);
  const dispatcher = new CommandDispatcher(store, log.child({ component: 'commands' }));
  // Billing's source: running seconds per environment, kept in the state file and sent through the outbox.
  const meter = new RunningMeter(store, outbox, Date.now, log.child({ component: 'meter' }));
  if (config.fakeGpus)
    log.warn('--fake-gpus: TEST ONLY, GPUs from nvidia-smi are handed out without an NVIDIA runtime in Docker');
  const inventory = () =>
    collectInventory({ docker, stateDir: config.stateDir, nvidiaSmi, log, fakeGpus: config.fakeGpus });
  log.info('local state loaded', { routes: routes.all().length, outbox: store.outboxCount() });

  let tunnel: TunnelClient | null = null;
  const relayId = relayIdOf(keys.platformPublicKey);
  const driver = new DockerDriver({
    docker,
    log: log.child({ component: 'docker' }),
    platformPublicKey: keys.platformPublicKey,
    relayId,
    gpus: async () => {
      const inv = await inventory();
      return { nvidiaRuntime: inv.nvidia_runtime, indices: inv.gpus.map((g) => g.index) };
    },
    onPullProgress: (environmentId, image, p) =>
      tunnel?.emit(EVENT.pullProgress, { environment_id: environmentId, image, ...p }, { droppable: true }),
  });
  registerContainerCommands(dispatcher, driver);
  const autoStop = new AutoStop({
    clock: systemClock,
    log: log.child({ component: 'auto-stop' }),
    routes: () => routes.all(),
    startedAt: (id) => driver.startedAt(id),
    stop: async (id) => {
      await driver.stop({ environment_id: id, container_id: null });
    },
    audit: outbox,
  });
  // SSH and terminal sessions are seen through their audit events (login opens, logout closes).
  const audit = {
    record: (e: AuditRecord) => {
      autoStop.observe(e);
      outbox.record(e);
    },
  };
  // Every request of the data plane (apps, files, terminal) names its environment: that is activity.
  const dataRoutes = {
    byEnv: (id: string) => {
      autoStop.touch(id);
      return routes.byEnv(id);
    },
  };
  const autoStopRun = new AbortController();
  void autoStop.run(overrides.autoStopIntervalMs ?? AUTO_STOP_INTERVAL_MS, autoStopRun.signal);
  registerImageCommands(dispatcher, {
    docker,
    log: log.child({ component: 'images' }),
    relayId,
    progress: (imageId, p) => tunnel?.emit(EVENT.imageProgress, { image_id: imageId, ...p }, { droppable: true }),
    saved: (e) => outbox.event(EVENT.imageSaved, e),
  });
  registerTargetCommands(dispatcher, { publicKey: keys.platformPublicKey, privateKey: keys.platformPrivateKey });

  const hostKeys = keys.hostKeys
    .map((pem) => {
      const k = ssh2.utils.parseKey(pem);
      return k instanceof Error ? null : `${k.type} ${k.getPublicSSH().toString('base64')}`;
    })
    .filter((k): k is string => k !== null);

  const hello = async (): Promise<Hello> => {
    // A hung engine must not keep the tunnel down: the hello waits a bounded time for Docker.
    const [inv, containers] = await Promise.all([
      inventory(),
      // Without the engine the agent cannot tell: better no report than an empty one (the edge would fail everything).
      withTimeout(driver.reports(), HELLO_DOCKER_MS, 'container list').catch((err: unknown) => {
        log.warn('cannot list containers for the hello: Docker unreachable', { err });
        return undefined;
      }),
    ]);
    if (containers) meter.sync(containers);
    return {
      type: MSG.hello,
      protocol: PROTOCOL_VERSION,
      agent_version: AGENT_VERSION,
      role: 'control',
      inventory: inv,
      ...(containers ? { containers } : {}),
      ...(config.publicHost ? { public_ssh_host: config.publicHost } : {}),
      ssh_host_keys: hostKeys,
      platform_public_key: keys.platformPublicKey,
      ssh_ports: config.sshPorts,
      ...(config.sshListen.port ? { shared_ssh_port: config.sshListen.port } : {}),
    };
  };

  tunnel = new TunnelClient({
    url: connectUrl(config.edge),
    token: config.token,
    log: log.child({ component: 'tunnel' }),
    hello,
    routes,
    commands: dispatcher,
    outbox,
    ...overrides.tunnel,
  });
  const unsubscribeOutbox = outbox.onAppend(() => tunnel?.kick());
  // As the outbox drain sends them (same ids: the edge dedupes a copy that also reached the file), minus the file.
  outbox.setFallback((id, name, data) =>
    tunnel?.send({
      type: MSG.event,
      name,
      id,
      data: name === EVENT.audit ? { events: [{ ...(data as AuditRecord), id }] } : data,
    }),
  );
  outbox.setMetricsFallback((samples) => tunnel?.emit(EVENT.metrics, { samples }, { droppable: true }));
  const events = watchContainerEvents(
    docker,
    (change) => {
      log.info('container state', { env_id: change.environment_id, state: change.state, reason: change.reason });
      meter.observe(change.environment_id, change.state);
      tunnel?.emit(EVENT.containerState, change);
    },
    log,
    systemClock,
    relayId,
  );
  const metricsIntervalMs = overrides.metricsIntervalMs ?? config.metricsInterval * 1000;
  const metrics = new MetricsCollector({
    docker,
    routes,
    nvidiaSmi,
    relayId,
    log: log.child({ component: 'metrics' }),
    send: (samples) => {
      autoStop.observeMetrics(samples, (id) => routes.byEnv(id));
      // Durable and acked like audit events: samples taken while the edge is out of reach arrive afterwards, once;
      // at most METRICS_BACKLOG_MS worth of them per environment (oldest dropped first).
      outbox.metrics(samples, Math.ceil(METRICS_BACKLOG_MS / metricsIntervalMs));
    },
    intervalMs: metricsIntervalMs,
  });
  metrics.start();
  // Containers kept running while the agent was down: count on from the stored interval (or from now if new).
  void withTimeout(driver.reports(), HELLO_DOCKER_MS, 'container list').then(
    (containers) => meter.sync(containers),
    (err: unknown) => log.warn('cannot list containers for the meter: Docker unreachable', { err }),
  );
  const meterTimer = setInterval(() => meter.flush(), overrides.meterIntervalMs ?? 60_000);

  const gateway = await startSshGateway({
    listen: config.sshListen,
    portRange: config.sshPorts,
    routes,
    audit,
    recordings: outbox,
    keys,
    docker,
    dockerUrl: config.docker,
    workers: config.sshWorkers ?? availableParallelism(),
    allowJsCrypto: config.sshNativeCrypto === 'prefer',
    log: log.child({ component: 'ssh' }),
  });

  const terminals = new TerminalSessions({
    target: (route, login, tlog) => gateway.target(route, login, tlog),
    audit,
    recordings: outbox,
    log: log.child({ component: 'terminal' }),
    maxRecordingBytes: DEFAULT_LIMITS.maxRecordingBytes,
  });
  const done = tunnel.start();
  const data = new DataShards({
    url: connectUrl(config.edge),
    token: config.token,
    shards: config.dataShards,
    routes: dataRoutes,
    terminals,
    log: log.child({ component: 'apps' }),
    files: {
      audit,
      openSftp: (route) => openSftp(gateway.target, route),
    },
    ...overrides.tunnel,
  });
  data.start();
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      metrics.stop();
      clearInterval(meterTimer);
      meter.flush();
      autoStopRun.abort();
      events.stop();
      terminals.closeAll();
      unsubscribeOutbox();
      await Promise.allSettled([gateway.close(), tunnel?.stop(), data.stop()]);
      store.close();
      log.info('relay agent stopped');
    })();
    return stopping;
  };
  log.info('relay agent started', {
    ssh_ports: gateway.listeningPorts().length,
    platform_public_key: keys.platformPublicKey,
  });
  return { tunnel, data, store, routes, driver, outbox, done, stop };
}
