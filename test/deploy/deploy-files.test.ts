// Checks the Dockerfile and docker-compose.yml against the config schema and each other. No Docker engine
// runs here: the files are parsed and their settings compared with what the recorder would accept.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configFromEnv, envKeys } from '../../src/config/env.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { haproxyConfig } from '../../src/cluster/haproxy-config.js';
import { errorMessage } from '../../src/shared/errors.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');
const DOCKERFILE = read('Dockerfile');
const COMPOSE = read('docker-compose.yml');
const BIN = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.recorder;

// ---------- Dockerfile ----------

interface Instruction {
  /** 0 for the first FROM's stage, and so on. */
  stage: number;
  keyword: string;
  args: string;
}

/** One instruction per logical line: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === undefined)) continue;
    const joined = pending === undefined ? line : `${pending} ${line}`;
    if (line.endsWith('\\')) pending = joined.slice(0, -1).trimEnd();
    else {
      logical.push(joined);
      pending = undefined;
    }
  }
  if (pending !== undefined) logical.push(pending);
  let stage = -1;
  return logical.map((line) => {
    const [, word = '', args = ''] = /^(\S+)\s*(.*)$/s.exec(line) ?? [];
    const keyword = word.toUpperCase();
    if (keyword === 'FROM') stage++;
    return { stage, keyword, args };
  });
}

/** Shell-like words: quotes group and are removed. */
function words(text: string): string[] {
  return (text.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []).map((word) =>
    word.replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_, dq?: string, sq?: string) =>
      dq !== undefined ? dq.replace(/\\(.)/g, '$1') : (sq ?? ''),
    ),
  );
}

/** `ENV a=b c="d e"` or the old `ENV a b c`. */
function envOf(args: string): [string, string][] {
  const first = /^\S+/.exec(args)?.[0] ?? '';
  if (!first.includes('=')) return [[first, args.slice(first.length).trim()]];
  return words(args).map((word) => {
    const at = word.indexOf('=');
    return [word.slice(0, at), word.slice(at + 1)];
  });
}

interface Dockerfile {
  stages: number;
  /** Instructions of the last stage, the image that runs. */
  runtime: Instruction[];
  /** ENV of the runtime stage. */
  env: Record<string, string>;
  /** Every ENV key of every stage. */
  envNames: string[];
  exposed: number[];
  user: string | undefined;
  healthcheck: string | undefined;
  entrypoint: unknown;
  cmd: unknown;
}

function dockerfile(text: string): Dockerfile {
  const all = parseDockerfile(text);
  const stages = all.filter((i) => i.keyword === 'FROM').length;
  const runtime = all.filter((i) => i.stage === stages - 1);
  const last = (keyword: string) => runtime.filter((i) => i.keyword === keyword).pop()?.args;
  const json = (args: string | undefined): unknown => {
    try {
      return args === undefined ? undefined : (JSON.parse(args) as unknown);
    } catch {
      return args; // shell form
    }
  };
  return {
    stages,
    runtime,
    env: Object.fromEntries(runtime.filter((i) => i.keyword === 'ENV').flatMap((i) => envOf(i.args))),
    envNames: all.filter((i) => i.keyword === 'ENV').flatMap((i) => envOf(i.args).map(([name]) => name)),
    exposed: runtime
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => words(i.args))
      .map((port) => Number(port.replace(/\/(tcp|udp)$/, ''))),
    user: last('USER'),
    healthcheck: last('HEALTHCHECK'),
    entrypoint: json(last('ENTRYPOINT')),
    cmd: json(last('CMD')),
  };
}

// ---------- docker-compose.yml ----------

type Service = Record<string, unknown>;

/** Compose variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_]\w*)/g,
    (whole, braced?: string, op?: string, fallback?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare)!;
      const value = vars[name];
      if (op === ':-') return value ? value : (fallback ?? '');
      if (op === '-') return value ?? fallback ?? '';
      return value ?? '';
    },
  );
}

/** A service's environment, list or map form, substituted; variables passed through from the host are left out. */
function environment(service: Service | undefined, vars: Record<string, string>): Record<string, string> {
  const raw = service?.environment;
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((item) => {
        const text = String(item);
        const at = text.indexOf('=');
        return at < 0 ? [text, null] : [text.slice(0, at), text.slice(at + 1)];
      })
    : Object.entries((raw ?? {}) as Record<string, unknown>);
  return Object.fromEntries(
    entries
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([name, value]) => [name, interpolate(String(value), vars)]),
  );
}

/** Container ports of a service's `ports` (short "host:container/proto" or long {target} syntax). */
function containerPorts(service: Service | undefined): number[] {
  const ports = Array.isArray(service?.ports) ? (service.ports as unknown[]) : [];
  return ports.map((port) =>
    port !== null && typeof port === 'object'
      ? Number((port as { target?: unknown }).target)
      : Number(
          String(port)
            .split(':')
            .pop()!
            .replace(/\/(tcp|udp)$/, ''),
        ),
  );
}

/** Container paths of a service's `volumes`. */
function volumeTargets(service: Service | undefined): string[] {
  const volumes = Array.isArray(service?.volumes) ? (service.volumes as unknown[]) : [];
  return volumes.map((volume) =>
    volume !== null && typeof volume === 'object'
      ? String((volume as { target?: unknown }).target)
      : (String(volume).split(':')[1] ?? String(volume)),
  );
}

function commandWords(service: Service | undefined): string[] {
  const command = service?.command;
  return Array.isArray(command) ? command.map(String) : words(String(command ?? ''));
}

/** The names a service answers to on the compose network. */
function hostnames(name: string, service: Service | undefined): string[] {
  const names = [name];
  for (const key of ['hostname', 'container_name']) {
    if (typeof service?.[key] === 'string') names.push(service[key]);
  }
  const networks = service?.networks;
  if (networks !== null && typeof networks === 'object' && !Array.isArray(networks)) {
    for (const network of Object.values(networks as Record<string, { aliases?: unknown } | null>)) {
      if (Array.isArray(network?.aliases)) names.push(...network.aliases.map(String));
    }
  }
  return names;
}

/** MinIO's S3 API port: `--address [host]:port` of `minio server`, else 9000. */
function minioApiPort(service: Service | undefined): number {
  const args = commandWords(service);
  const at = args.findIndex((arg) => arg === '--address' || arg.startsWith('--address='));
  if (at < 0) return 9000;
  const value = args[at]!.includes('=') ? args[at]!.split('=')[1]! : (args[at + 1] ?? '');
  return Number(value.split(':').pop());
}

// ---------- the checks ----------

const DEFAULTS = parseConfig({});
const KNOWN = new Set(envKeys());
/** Values for the compose variables, to prove both services take the same ones. */
const CUSTOM_VARS = { MINIO_ROOT_USER: 'someone-else', MINIO_ROOT_PASSWORD: 'another-password-1' };

/** The compose file as Compose reads it: anchors and merge keys (`<<: *recorder`) applied. */
function parseCompose(text: string): { services?: Record<string, Service> } | null {
  return parseYaml(text, { merge: true }) as { services?: Record<string, Service> } | null;
}

/** The services built from this repository's Dockerfile: every recorder, single or a cluster's node. */
function recorderServices(services: Record<string, Service>): string[] {
  return Object.keys(services).filter((name) => {
    const build = services[name]?.build as string | { context?: string } | undefined;
    return build === '.' || (typeof build === 'object' && build?.context === '.');
  });
}

/** Everything wrong with the two files, one line per problem; empty when they are consistent. */
function allProblems(dockerfileText: string, composeText: string): string[] {
  const services = parseCompose(composeText)?.services ?? {};
  const names = recorderServices(services);
  const problems = new Set(names.length ? [] : ['compose: no recorder service (build: .)']);
  for (const name of names.length ? names : ['recorder']) {
    for (const problem of deploymentProblems(dockerfileText, composeText, name)) problems.add(problem);
  }
  for (const problem of clusterProblems(services, names)) problems.add(problem);
  return [...problems];
}

/** What a cluster's nodes need: one Redis service they wait for, distinct node ids, host ports apart. */
/**
 * The balancer in front of the cluster's nodes: an HAProxy service whose mounted config sends RTMP to every node
 * on its RTMP port and checks each one's /readyz on its HTTP port.
 */
function balancerProblems(
  services: Record<string, Service>,
  nodes: readonly { name: string; rtmpPort: number; httpPort: number }[],
): string[] {
  if (nodes.length === 0) return [];
  const name = Object.keys(services).find((n) => String(services[n]?.image ?? '').startsWith('haproxy:'));
  if (!name) return ['compose: the cluster has no haproxy service in front of its nodes'];
  const service = services[name]!;
  const mount = ((service.volumes ?? []) as string[]).find((v) =>
    v.includes('/usr/local/etc/haproxy/haproxy.cfg'),
  );
  if (!mount) return [`compose: ${name} mounts no /usr/local/etc/haproxy/haproxy.cfg`];
  const file = mount.split(':')[0]!;
  let text: string;
  try {
    text = read(file);
  } catch {
    return [`compose: ${name} mounts ${file}, which does not exist`];
  }
  const problems: string[] = [];
  if (!/^\s+mode tcp$/m.test(text)) problems.push(`${file}: not in TCP mode`);
  if (!/^\s+option httpchk GET \/readyz$/m.test(text)) problems.push(`${file}: does not check GET /readyz`);
  const dependsOn = (service.depends_on ?? []) as string[] | Record<string, unknown>;
  const waits = Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
  for (const node of nodes) {
    const line = `server ${node.name} ${node.name}:${node.rtmpPort} check port ${node.httpPort}`;
    if (!text.includes(line)) problems.push(`${file}: no "${line}"`);
    if (!waits.includes(node.name)) problems.push(`compose: ${name} does not depend on ${node.name}`);
  }
  return problems;
}

function clusterProblems(services: Record<string, Service>, recorders: readonly string[]): string[] {
  const problems: string[] = [];
  const nodeIds = new Map<string, string>();
  const clusterNodes: { name: string; rtmpPort: number; httpPort: number }[] = [];
  for (const name of recorders) {
    const service = services[name];
    let config: Config;
    try {
      config = parseConfig(configFromEnv(environment(service, {}), {}));
    } catch {
      continue; // reported by deploymentProblems
    }
    const url = config.cluster.redis;
    if (!url) continue;
    const host = new URL(url).hostname;
    const redisName = Object.keys(services).find((n) => hostnames(n, services[n]).includes(host));
    const redis = redisName ? services[redisName] : undefined;
    if (!redis || !String(redis.image ?? '').startsWith('redis:')) {
      problems.push(`compose: ${name} cluster.redis host ${host} is not a redis service`);
      continue;
    }
    const dependsOn = (service?.depends_on ?? {}) as Record<string, { condition?: string }>;
    if (dependsOn[redisName!]?.condition !== 'service_healthy') {
      problems.push(`compose: ${name} does not wait for ${redisName} to be healthy`);
    }
    const password = new URL(url).password;
    const redisCommand = interpolate(commandWords(redis).join(' '), {});
    if (password && !redisCommand.includes(`--requirepass ${decodeURIComponent(password)}`)) {
      problems.push(`compose: ${name} cluster.redis password is not ${redisName}'s requirepass`);
    }
    if (!commandWords(redis).includes('--appendonly')) {
      problems.push(`compose: ${redisName} keeps no AOF (--appendonly yes)`);
    }
    if (!JSON.stringify(redis.healthcheck ?? null).includes('ping')) {
      problems.push(`compose: ${redisName} healthcheck does not ping it`);
    }
    if (!config.cluster.advertise) problems.push(`compose: ${name} sets no cluster.advertise`);
    const other = nodeIds.get(config.cluster.nodeId);
    if (other) problems.push(`compose: ${name} and ${other} share the node id ${config.cluster.nodeId}`);
    nodeIds.set(config.cluster.nodeId, name);
    clusterNodes.push({ name, rtmpPort: config.rtmp.port, httpPort: config.http.port });
  }
  problems.push(...balancerProblems(services, clusterNodes));
  // Services that run together must not publish the same host port.
  const hostPorts = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    for (const port of (service.ports ?? []) as unknown[]) {
      const host = String(port).split(':').slice(0, -1).join(':');
      if (!host) continue;
      const taken = hostPorts.get(host);
      if (taken) problems.push(`compose: ${name} and ${taken} both publish host port ${host}`);
      hostPorts.set(host, name);
    }
  }
  return problems;
}

/** Everything wrong with the two files for one recorder service. */
function deploymentProblems(dockerfileText: string, composeText: string, name: string): string[] {
  const problems: string[] = [];
  const image = dockerfile(dockerfileText);
  const services = parseCompose(composeText)?.services ?? {};
  const minio = services.minio;
  const recorder = services[name];

  // Names: every RECORDER_* mention (ENV, environment, comments) is a real variable.
  const composeEnvNames = Object.keys(environment(recorder, {}));
  if (!image.envNames.some((name) => name.startsWith('RECORDER_')))
    problems.push('Dockerfile: no RECORDER_* ENV');
  if (!composeEnvNames.some((name) => name.startsWith('RECORDER_'))) {
    problems.push(`compose: ${name} has no RECORDER_* environment`);
  }
  for (const [file, text, names] of [
    ['Dockerfile', dockerfileText, image.envNames],
    ['compose', composeText, composeEnvNames],
  ] as const) {
    const mentioned = [...text.matchAll(/RECORDER_[A-Za-z0-9_]*[A-Za-z0-9]/g)].map((m) => m[0]);
    for (const name of new Set([...names.filter((n) => n.startsWith('RECORDER_')), ...mentioned])) {
      if (!KNOWN.has(name)) problems.push(`${file}: ${name} is not a config variable`);
    }
  }

  // The recorder container's config: the image's ENV, then compose's environment over it.
  let config: Config | undefined;
  try {
    config = parseConfig(configFromEnv({ ...image.env, ...environment(recorder, {}) }, {}));
  } catch (err) {
    problems.push(`compose: ${name}'s environment is no valid config: ${errorMessage(err)}`);
  }
  if (config && config.storage.type !== 'minio') {
    problems.push(`compose: ${name} storage.type is ${config.storage.type}, not minio`);
  }

  // Storage points at the minio service with its root credentials, whatever the compose variables are.
  if (!minio) problems.push('compose: no minio service');
  for (const vars of [{}, CUSTOM_VARS]) {
    const env = environment(recorder, vars);
    const root = environment(minio, vars);
    const given = Object.keys(vars).length ? ` with ${JSON.stringify(vars)}` : '';
    if (!env.RECORDER_STORAGE__ACCESSKEY || env.RECORDER_STORAGE__ACCESSKEY !== root.MINIO_ROOT_USER) {
      problems.push(`compose: ${name} accessKey is not minio's MINIO_ROOT_USER${given}`);
    }
    if (!env.RECORDER_STORAGE__SECRETKEY || env.RECORDER_STORAGE__SECRETKEY !== root.MINIO_ROOT_PASSWORD) {
      problems.push(`compose: ${name} secretKey is not minio's MINIO_ROOT_PASSWORD${given}`);
    }
  }
  if (config?.storage.type === 'minio') {
    if (!hostnames('minio', minio).includes(config.storage.endPoint)) {
      problems.push(`compose: ${name} storage endPoint ${config.storage.endPoint} is not the minio service`);
    }
    if ((config.storage.port ?? (config.storage.useSSL ? 443 : 80)) !== minioApiPort(minio)) {
      problems.push(
        `compose: ${name} storage port ${config.storage.port} is not minio's ${minioApiPort(minio)}`,
      );
    }
  }
  const minioHealth = JSON.stringify(minio?.healthcheck ?? null);
  if (!minioHealth.includes(`:${minioApiPort(minio)}/minio/health/ready`)) {
    problems.push('compose: minio healthcheck does not ask /minio/health/ready on its API port');
  }
  const dependsOn = (recorder?.depends_on ?? {}) as Record<string, { condition?: string }>;
  if (dependsOn.minio?.condition !== 'service_healthy') {
    problems.push(`compose: ${name} does not wait for minio to be healthy`);
  }
  if (recorder?.build !== '.' && (recorder?.build as { context?: string } | undefined)?.context !== '.') {
    problems.push(`compose: ${name} is not built from this Dockerfile (build: .)`);
  }

  // Ports: the image exposes the default listen ports and compose publishes those container ports.
  const ports = [DEFAULTS.rtmp.port, DEFAULTS.http.port].sort((a, b) => a - b);
  if (JSON.stringify([...image.exposed].sort((a, b) => a - b)) !== JSON.stringify(ports)) {
    problems.push(
      `Dockerfile: EXPOSE ${image.exposed.join(' ')} is not rtmp.port and http.port (${ports.join(' ')})`,
    );
  }
  const published = containerPorts(recorder).sort((a, b) => a - b);
  if (JSON.stringify(published) !== JSON.stringify(ports)) {
    problems.push(
      `compose: ${name} publishes container ports ${published.join(' ')}, not ${ports.join(' ')}`,
    );
  }
  if (config && (config.rtmp.port !== DEFAULTS.rtmp.port || config.http.port !== DEFAULTS.http.port)) {
    problems.push(`compose: ${name} environment moves a listen port away from the published one`);
  }

  // Health check: curl on the loopback HTTP port's /healthz, and curl is installed.
  const healthCommand = /\bCMD\s+(.*)$/s.exec(image.healthcheck ?? '')?.[1] ?? '';
  const healthUrl = /https?:\/\/[^\s'"]+/.exec(healthCommand)?.[0];
  const url = healthUrl ? new URL(healthUrl) : undefined;
  if (!url || !['127.0.0.1', 'localhost'].includes(url.hostname)) {
    problems.push(`Dockerfile: HEALTHCHECK asks no loopback URL (${image.healthcheck})`);
  } else {
    if (Number(url.port) !== DEFAULTS.http.port) {
      problems.push(`Dockerfile: HEALTHCHECK port ${url.port} is not http.port ${DEFAULTS.http.port}`);
    }
    if (url.pathname !== '/healthz')
      problems.push(`Dockerfile: HEALTHCHECK asks ${url.pathname}, not /healthz`);
  }
  const runs = image.runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const installed = runs
    .filter((run) => /apt-get\s+install/.test(run))
    .flatMap((run) => words(run))
    .filter((word) => /^[a-z0-9][a-z0-9.+-]*$/.test(word));
  if (/^curl\b/.test(healthCommand) && !installed.includes('curl')) {
    problems.push('Dockerfile: HEALTHCHECK uses curl but the runtime stage does not install it');
  }

  // Stages, user, ffmpeg, data dir, entrypoint.
  if (image.stages < 2) problems.push(`Dockerfile: ${image.stages} stage(s), not a multi-stage build`);
  const user = image.user?.split(':')[0];
  if (!user || user === 'root' || user === '0') {
    problems.push(`Dockerfile: the runtime stage runs as ${user ?? 'root (no USER)'}`);
  }
  if (config) {
    if (config.ffmpegPath !== '/usr/bin/ffmpeg' || !installed.includes('ffmpeg')) {
      problems.push(
        `Dockerfile: ffmpegPath ${config.ffmpegPath} is not Debian's ffmpeg installed with apt-get`,
      );
    }
    if (!volumeTargets(recorder).includes(config.dataDir)) {
      problems.push(`compose: no volume on the ${name} service's dataDir ${config.dataDir}`);
    }
    const dataDir = config.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (
      !user ||
      !runs.some((run) => new RegExp(`chown\\s+(-\\S+\\s+)*${user}(:\\S+)?\\s+.*${dataDir}\\b`).test(run))
    ) {
      problems.push(`Dockerfile: dataDir ${config.dataDir} is not chowned to ${user}`);
    }
  }
  if (JSON.stringify(image.entrypoint) !== JSON.stringify(['node', BIN])) {
    problems.push(`Dockerfile: ENTRYPOINT ${JSON.stringify(image.entrypoint)} does not run ${BIN}`);
  }
  if (JSON.stringify(image.cmd) !== JSON.stringify(['serve'])) {
    problems.push(`Dockerfile: CMD ${JSON.stringify(image.cmd)} is not ["serve"]`);
  }
  return problems;
}

describe('deployment files', () => {
  it('the Dockerfile and docker-compose.yml agree with the config schema and each other', () => {
    expect(allProblems(DOCKERFILE, COMPOSE)).toEqual([]);
  });

  it('deploy/haproxy.cfg is what scripts/haproxy.mjs makes for the compose nodes', () => {
    const nodes = ['recorder-a', 'recorder-b'].map((name) => ({
      name,
      host: name,
      rtmpPort: 1935,
      httpPort: 8080,
    }));
    expect(read('deploy/haproxy.cfg')).toBe(
      haproxyConfig({ bind: '*:1935', nodes, stats: '*:8404', dns: '127.0.0.11:53' }),
    );
  });

  it('the parsers read what the files say', () => {
    const image = dockerfile(DOCKERFILE);
    expect(image.stages).toBeGreaterThanOrEqual(2);
    expect(image.env).toMatchObject({ RECORDER_FFMPEGPATH: '/usr/bin/ffmpeg', RECORDER_DATADIR: '/data' });
    expect(image.exposed.sort()).toEqual([1935, 8080]);
    expect(image.user).toBe('node');
    const services = parseCompose(COMPOSE)!.services!;
    expect(environment(services.recorder, {})).toMatchObject({
      RECORDER_STORAGE__TYPE: 'minio',
      RECORDER_STORAGE__ENDPOINT: 'minio',
    });
    expect(containerPorts(services.recorder).sort()).toEqual([1935, 8080]);
    expect(minioApiPort(services.minio)).toBe(9000);
    expect(interpolate('${A:-x}/${B-y}/${C}/$$', { A: '', B: '', C: 'c' })).toBe('x//c/$');
  });

  // Each check, shown to fail: one edit to a file and the problem it must cause.
  it.each([
    [
      'Dockerfile',
      'ENV RECORDER_DATADIR=/data',
      'ENV RECORDER_DATA_DIR=/data',
      'RECORDER_DATA_DIR is not a config variable',
    ],
    [
      'compose',
      'RECORDER_STORAGE__BUCKET:',
      'RECORDER_STORAGE__BUCKETS:',
      'RECORDER_STORAGE__BUCKETS is not a config variable',
    ],
    [
      'compose',
      'RECORDER_STORAGE__PORT: ',
      'RECORDER_STORAGE__PORTS: ',
      'RECORDER_STORAGE__PORTS is not a config variable',
    ],
    ['compose', 'RECORDER_STORAGE__TYPE: minio', 'RECORDER_STORAGE__TYPE: local', 'is no valid config'],
    ['compose', /^ +RECORDER_STORAGE__.*\n/gm, '', 'storage.type is local, not minio'],
    [
      'compose',
      'RECORDER_STORAGE__BUCKET: recordings',
      'RECORDER_STORAGE__BUCKET: Recordings',
      'is no valid config',
    ],
    [
      'compose',
      'RECORDER_STORAGE__ENDPOINT: minio',
      'RECORDER_STORAGE__ENDPOINT: s3',
      'endPoint s3 is not the minio service',
    ],
    ['compose', "RECORDER_STORAGE__PORT: '9000'", "RECORDER_STORAGE__PORT: '9001'", 'storage port 9001'],
    ['compose', 'command: server /data', 'command: server --address :9100 /data', "is not minio's 9100"],
    [
      'compose',
      'RECORDER_STORAGE__ACCESSKEY: ${MINIO_ROOT_USER',
      'RECORDER_STORAGE__ACCESSKEY: x${MINIO_ROOT_USER',
      "accessKey is not minio's MINIO_ROOT_USER",
    ],
    [
      'compose',
      'RECORDER_STORAGE__SECRETKEY: ${MINIO_ROOT_PASSWORD:-recorder-secret}',
      'RECORDER_STORAGE__SECRETKEY: recorder-secret',
      "secretKey is not minio's MINIO_ROOT_PASSWORD with",
    ],
    ['compose', '/minio/health/ready', '/minio/health/live', 'minio healthcheck'],
    ['compose', 'condition: service_healthy', 'condition: service_started', 'does not wait for minio'],
    ['compose', "- '1935:1935'", "- '1935:1936'", 'publishes container ports 1936 8080'],
    ['compose', "- '8080:8080'", "- '8080:80'", 'publishes container ports 80 1935'],
    ['compose', '- recorder-data:/data', '- recorder-data:/var/lib/recorder', 'no volume on the recorder'],
    [
      'compose',
      '      RECORDER_STORAGE__TYPE: minio',
      '      RECORDER_HTTP__PORT: 9090\n      RECORDER_STORAGE__TYPE: minio',
      'moves a listen port',
    ],
    [
      'compose',
      'RECORDER_CLUSTER__NODEID: recorder-b',
      'RECORDER_CLUSTER__NODEID: recorder-a',
      'recorder-b and recorder-a share the node id recorder-a',
    ],
    ['compose', "- '1937:1935'", "- '1936:1935'", 'recorder-b and recorder-a both publish host port 1936'],
    [
      'compose',
      'RECORDER_CLUSTER__REDIS: redis://:${REDIS_PASSWORD:-recorder-redis}@redis:6379\n      RECORDER_CLUSTER__NODEID: recorder-a',
      'RECORDER_CLUSTER__REDIS: redis://:${REDIS_PASSWORD:-recorder-redis}@cache:6379\n      RECORDER_CLUSTER__NODEID: recorder-a',
      'recorder-a cluster.redis host cache is not a redis service',
    ],
    [
      'compose',
      'RECORDER_CLUSTER__REDIS: redis://:${REDIS_PASSWORD:-recorder-redis}@redis:6379\n      RECORDER_CLUSTER__NODEID: recorder-b',
      'RECORDER_CLUSTER__REDIS: redis://:wrong@redis:6379\n      RECORDER_CLUSTER__NODEID: recorder-b',
      "recorder-b cluster.redis password is not redis's requirepass",
    ],
    ['compose', '--appendonly yes ', '', 'redis keeps no AOF'],
    [
      'compose',
      "      redis:\n        condition: service_healthy\n    ports:\n      - '1937",
      "      redis:\n        condition: service_started\n    ports:\n      - '1937",
      'recorder-b does not wait for redis to be healthy',
    ],
    [
      'compose',
      '      RECORDER_CLUSTER__ADVERTISE: recorder-b:1935\n',
      '',
      'recorder-b sets no cluster.advertise',
    ],
    [
      'compose',
      'RECORDER_CLUSTER__NODEID: recorder-b',
      'RECORDER_CLUSTER__NODEID: recorder-b\n      RECORDER_STORAGE__TYPE: local',
      'must be minio when cluster.redis is set',
    ],
    [
      'compose',
      '    image: haproxy:2.6.12\n',
      '    image: nginx:1.27\n',
      'the cluster has no haproxy service',
    ],
    [
      'compose',
      'depends_on: [recorder-a, recorder-b]',
      'depends_on: [recorder-a]',
      'haproxy does not depend on recorder-b',
    ],
    [
      'compose',
      './deploy/haproxy.cfg:',
      './deploy/missing.cfg:',
      'mounts ./deploy/missing.cfg, which does not exist',
    ],
    ['Dockerfile', 'EXPOSE 1935 8080', 'EXPOSE 1935 8081', 'EXPOSE 1935 8081 is not'],
    ['Dockerfile', 'EXPOSE 1935 8080', 'EXPOSE 8080', 'EXPOSE 8080 is not'],
    ['Dockerfile', '127.0.0.1:8080/healthz', '127.0.0.1:8081/healthz', 'HEALTHCHECK port 8081'],
    ['Dockerfile', '127.0.0.1:8080/healthz', '127.0.0.1:8080/health', 'HEALTHCHECK asks /health,'],
    [
      'Dockerfile',
      '--no-install-recommends ffmpeg curl',
      '--no-install-recommends ffmpeg',
      'does not install it',
    ],
    [
      'Dockerfile',
      '--no-install-recommends ffmpeg curl',
      '--no-install-recommends curl',
      "not Debian's ffmpeg",
    ],
    ['Dockerfile', 'USER node', 'USER root', 'runs as root'],
    ['Dockerfile', 'USER node\n', '', 'runs as root (no USER)'],
    ['Dockerfile', 'FROM node:20-bookworm-slim AS build\n', '', 'not a multi-stage build'],
    ['Dockerfile', 'chown node:node /data', 'chmod 777 /data', 'is not chowned to node'],
    ['Dockerfile', '"dist/src/cli.js"', '"dist/cli.js"', 'does not run dist/src/cli.js'],
    ['Dockerfile', 'CMD ["serve"]', 'CMD ["--help"]', 'is not ["serve"]'],
  ] as const)('%s: %j -> %j reports %j', (file, from, to, problem) => {
    const text = file === 'Dockerfile' ? DOCKERFILE : COMPOSE;
    if (typeof from === 'string') expect(text).toContain(from);
    else expect(text).toMatch(from);
    const edited = text.replace(from, to);
    const problems = file === 'Dockerfile' ? allProblems(edited, COMPOSE) : allProblems(DOCKERFILE, edited);
    expect(problems.join('\n')).toContain(problem);
  });
});
