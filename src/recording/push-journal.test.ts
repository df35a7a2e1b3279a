import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/logger.js';
import { PushJournal, type OpenPush } from './push-journal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recorder-pushes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const push = (sequence: string, startedMs: number, width = 0): OpenPush => ({
  startedMs,
  facts: {
    appid: 1,
    domain: 'push.example.com',
    appName: 'live',
    streamId: `s${sequence}`,
    sequence,
    node: '127.0.0.1',
    userIp: '127.0.0.1',
    streamParam: 'a=1',
    width,
    height: width ? 720 : 0,
  },
});

describe('PushJournal', () => {
  it('keeps open pushes until removed; a new journal on the dir finds them, oldest first, with their last facts', async () => {
    const journal = new PushJournal(dir, silentLogger());
    await journal.save(push('222', 2000));
    await journal.save(push('111', 1000));
    await journal.save(push('222', 2000, 1280));
    await journal.save(push('333', 3000));
    await journal.remove('333');
    const found = await new PushJournal(dir, silentLogger()).leftovers();
    expect(found.map((p) => [p.facts.sequence, p.startedMs, p.facts.width])).toEqual([
      ['111', 1000, 0],
      ['222', 2000, 1280],
    ]);
  });

  it('a save and a remove of one push land in order, whatever their timing', async () => {
    const journal = new PushJournal(dir, silentLogger());
    void journal.save(push('444', 1));
    await journal.remove('444');
    expect(await readdir(dir)).toEqual([]);
  });

  it('skips a record it cannot read and files that are not records', async () => {
    const journal = new PushJournal(dir, silentLogger());
    await journal.save(push('555', 5));
    await writeFile(join(dir, '666.json'), '{"version":1,"startedMs"');
    await writeFile(join(dir, '.abc.tmp'), 'x');
    expect((await journal.leftovers()).map((p) => p.facts.sequence)).toEqual(['555']);
  });
});
