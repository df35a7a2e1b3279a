import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { LocalStore } from '../../src/storage/local-store.js';
import type { ObjectStore, PutOptions, StoredObject } from '../../src/storage/object-store.js';
import { UploadQueue, type UploadJob } from '../../src/storage/upload-queue.js';

const dirs: string[] = [];
const queues: UploadQueue[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-uploads-'));
  dirs.push(dir);
  return dir;
}

/** A local store whose puts can be held back or failed, to watch the queue's order and retries. */
class ControlledStore extends LocalStore {
  readonly started: string[] = [];
  failNext = 0;
  gate: Promise<void> | undefined;

  override async putFile(localPath: string, key: string, options?: PutOptions): Promise<StoredObject> {
    this.started.push(key);
    await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('storage down'), { code: 'STORAGE_UNAVAILABLE' });
    }
    return super.putFile(localPath, key, options);
  }
}

async function setup(store?: ObjectStore, concurrency = 4) {
  const root = await temp();
  const s = store ?? new ControlledStore({ dataDir: join(root, 'data'), publicBaseUrl: () => 'http://x' });
  const done: UploadJob[] = [];
  const queue = new UploadQueue({
    dir: join(root, '.uploads'),
    store: s,
    concurrency,
    logger: createLogger({ level: 'silent' }),
    retryBaseMs: 20,
    retryMaxMs: 50,
    onDone: async (job) => {
      done.push(job);
    },
  });
  queues.push(queue);
  await queue.start();
  const file = async (name: string) => {
    const path = join(root, name);
    await writeFile(path, name);
    return path;
  };
  return { root, store: s as ControlledStore, queue, done, file };
}

describe('UploadQueue', () => {
  it('runs the jobs of one lane in order, one at a time, while other lanes go on', async () => {
    const { store, queue, done, file } = await setup();
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    for (const n of [0, 1, 2]) {
      await queue.enqueue('hls/a', [
        { kind: 'file', path: await file(`a${n}`), key: `live/a${n}.ts`, retentionDays: 0 },
      ]);
    }
    await queue.enqueue('file/b', [
      { kind: 'file', path: await file('b'), key: 'live/b.mp4', retentionDays: 0 },
    ]);
    await new Promise((r) => setTimeout(r, 50));
    // Lane a has only its head in flight; lane b started beside it.
    expect(store.started.sort()).toEqual(['live/a0.ts', 'live/b.mp4']);
    release();
    expect(await queue.drain(5000)).toBe(true);
    expect(done.filter((j) => j.lane === 'hls/a').map((j) => j.steps[0]!.key)).toEqual([
      'live/a0.ts',
      'live/a1.ts',
      'live/a2.ts',
    ]);
  });

  it('a failed job is retried and blocks its lane until it succeeds', async () => {
    const { store, queue, done, file } = await setup();
    store.failNext = 3;
    const failures: string[] = [];
    queue.on('failed', (job) => failures.push(job.steps[0]!.kind === 'file' ? job.steps[0]!.key : ''));
    await queue.enqueue('hls/a', [
      { kind: 'file', path: await file('s0'), key: 'live/s0.ts', retentionDays: 0 },
    ]);
    await queue.enqueue('hls/a', [
      { kind: 'file', path: await file('s1'), key: 'live/s1.ts', retentionDays: 0 },
    ]);
    expect(await queue.drain(5000)).toBe(true);
    expect(failures).toEqual(['live/s0.ts', 'live/s0.ts', 'live/s0.ts']);
    expect(done.map((j) => j.steps[0]!.kind === 'file' && j.steps[0]!.key)).toEqual([
      'live/s0.ts',
      'live/s1.ts',
    ]);
    expect(await store.stat('live/s1.ts')).toMatchObject({ size: 2 });
  });

  it('jobs left on disk are resumed at the next start, without waiting out their backoff', async () => {
    const root = await temp();
    const store = new ControlledStore({ dataDir: join(root, 'data'), publicBaseUrl: () => 'http://x' });
    store.failNext = 1000;
    const first = new UploadQueue({
      dir: join(root, '.uploads'),
      store,
      concurrency: 2,
      logger: createLogger({ level: 'silent' }),
      retryBaseMs: 10_000,
      retryMaxMs: 10_000,
    });
    await first.start();
    const path = join(root, 'seg');
    await writeFile(path, 'segment');
    await first.enqueue(
      'hls/r',
      [
        { kind: 'file', path, key: 'live/r_000000.ts', retentionDays: 0 },
        { kind: 'text', text: '#EXTM3U\n', key: 'live/r.live.m3u8', retentionDays: 0 },
      ],
      { announce: 'me' },
    );
    await first.close();
    expect(await readdir(join(root, '.uploads', 'jobs'))).toHaveLength(1);

    store.failNext = 0;
    const announced: unknown[] = [];
    const second = new UploadQueue({
      dir: join(root, '.uploads'),
      store,
      concurrency: 2,
      logger: createLogger({ level: 'silent' }),
      onDone: async (job) => {
        announced.push(job.announce);
      },
    });
    queues.push(second);
    await second.start();
    expect(await second.drain(5000)).toBe(true);
    expect(announced).toEqual([{ announce: 'me' }]);
    expect(await store.stat('live/r_000000.ts')).toMatchObject({ size: 7 });
    expect(await store.stat('live/r.live.m3u8')).toBeDefined();
    expect(await readdir(join(root, '.uploads', 'jobs'))).toEqual([]);
    expect(await readdir(join(root, '.uploads', 'files'))).toEqual([]);
  });

  it('holds concurrency across lanes to its bound', async () => {
    const { store, queue, file } = await setup(undefined, 2);
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    for (const n of [0, 1, 2, 3, 4]) {
      await queue.enqueue(`file/${n}`, [
        { kind: 'file', path: await file(`f${n}`), key: `live/f${n}.flv`, retentionDays: 0 },
      ]);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(store.started).toHaveLength(2);
    release();
    expect(await queue.drain(5000)).toBe(true);
    expect(store.started).toHaveLength(5);
  });
});

describe('UploadQueue after a crash inside enqueue', () => {
  it('a job whose record was written before its file moved still finds the file and stores it', async () => {
    const root = await temp();
    const store = new LocalStore({ dataDir: join(root, 'data'), publicBaseUrl: () => 'http://x' });
    const source = join(root, 'work-file.mp4');
    await writeFile(source, 'the recording');
    // The record as enqueue() writes it, with the process killed before the rename into files/.
    await mkdir(join(root, '.uploads', 'jobs'), { recursive: true });
    const job: UploadJob = {
      id: 'crashed-job',
      lane: 'file/live/a.mp4',
      seq: 0,
      steps: [
        {
          kind: 'file',
          source,
          path: join(root, '.uploads', 'files', 'crashed-job-0'),
          key: 'live/a.mp4',
          retentionDays: 0,
        },
      ],
      done: 0,
      createdAt: Date.now(),
      attempts: 0,
      nextAttemptAt: Date.now(),
    };
    await writeFile(join(root, '.uploads', 'jobs', 'crashed-job.json'), JSON.stringify(job));
    const queue = new UploadQueue({
      dir: join(root, '.uploads'),
      store,
      concurrency: 1,
      logger: createLogger({ level: 'silent' }),
    });
    queues.push(queue);
    await queue.start();
    expect(await queue.drain(5000)).toBe(true);
    expect(await store.stat('live/a.mp4')).toMatchObject({ size: 'the recording'.length });
    expect(await readdir(root)).not.toContain('work-file.mp4');
  });
});
