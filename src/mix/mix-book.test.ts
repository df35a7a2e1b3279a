import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreateCommonMixStreamRequest } from './layout.js';
import { FileDocumentStore } from '../shared/document-store.js';
import { MixSessionBook, type MixSessionStore } from './mix-book.js';

const request = (session: string, output = 'mix1'): CreateCommonMixStreamRequest => ({
  MixStreamSessionId: session,
  InputStreamList: [{ InputStreamName: 'host', LayoutParams: { ImageLayer: 1 } }],
  OutputParams: { OutputStreamName: output, OutputStreamType: 1 },
});

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recorder-mix-book-'));
  file = join(dir, '.state', 'mixes.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => MixSessionStore][] = [
  ['file', () => new MixSessionBook(new FileDocumentStore(file))],
];

describe.each(stores)('MixSessionStore (%s)', (_name, make) => {
  it('keeps sessions across a reopen: created once, updated in place, removed on cancel', async () => {
    const first = make();
    await first.open();
    await first.put('s1', request('s1'), 1000);
    await first.put('s2', request('s2', 'mix2'), 2000);
    const updated = await first.put('s1', request('s1', 'mix1b'), 3000);
    expect(updated).toMatchObject({ sessionId: 's1', createdAt: 1000, updatedAt: 3000 });
    await first.close();

    const second = make();
    await second.open();
    expect(second.list().map((r) => [r.sessionId, r.request.OutputParams.OutputStreamName])).toEqual([
      ['s1', 'mix1b'],
      ['s2', 'mix2'],
    ]);
    expect(await second.remove('s2')).toBe(true);
    expect(await second.remove('s2')).toBe(false);
    await second.close();
    const third = make();
    await third.open();
    expect(third.list().map((r) => r.sessionId)).toEqual(['s1']);
    expect(third.get('s1')?.request).toEqual(request('s1', 'mix1b'));
  });

  it('a record is a copy: changing the request given does not change what is kept', async () => {
    const store = make();
    await store.open();
    const req = request('s3');
    await store.put('s3', req, 1);
    req.OutputParams.OutputStreamName = 'changed';
    expect(store.get('s3')?.request.OutputParams.OutputStreamName).toBe('mix1');
  });
});

describe('FileMixSessionStore', () => {
  it('sets an unreadable file aside and starts empty', async () => {
    await mkdir(join(dir, '.state'), { recursive: true });
    await writeFile(file, '{"version":1,"sessions":');
    const store = new MixSessionBook(new FileDocumentStore(file));
    await store.open();
    expect(store.list()).toEqual([]);
    expect(await readdir(join(dir, '.state'))).toContain('mixes.json.corrupt');
  });

  it('a put that cannot be written fails and keeps what was there', async () => {
    const store = new MixSessionBook(new FileDocumentStore(file));
    await store.open();
    await store.put('s1', request('s1'), 1);
    // A directory where the file should be: the rename over it fails.
    await rm(file);
    await mkdir(file);
    await expect(store.put('s1', request('s1', 'other'), 2)).rejects.toMatchObject({
      code: 'MIX_STORE_FAILED',
    });
    await expect(store.put('s9', request('s9'), 3)).rejects.toMatchObject({ code: 'MIX_STORE_FAILED' });
    expect(store.get('s1')?.request.OutputParams.OutputStreamName).toBe('mix1');
    expect(store.get('s9')).toBeUndefined();
  });
});
