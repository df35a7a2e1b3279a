import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../shared/document-store.js';
import { requireRetention } from './resolve.js';
import { TemplateBook, TemplateError, TemplateStoreError } from './template-book.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'templates-test-'));
  path = join(dir, '.state', 'templates.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openBook(
  options: Partial<ConstructorParameters<typeof TemplateBook>[0]> = {},
): Promise<TemplateBook> {
  const book = new TemplateBook({
    store: new FileDocumentStore(path),
    now: () => 1_700_000_000_000,
    ...options,
  });
  await book.load();
  return book;
}

function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof TemplateError ? err.code : String(err)),
  );
}

describe('TemplateBook', () => {
  it('starts empty without a state file', async () => {
    const book = await openBook();
    expect(book.templates).toEqual([]);
    expect(book.rules).toEqual([]);
  });

  it('templates and rules survive a reopen', async () => {
    const book = await openBook();
    const a = await book.createTemplate({
      TemplateName: 'mp4only',
      Mp4Param: { Enable: 1, RecordInterval: 600 },
    });
    await book.createRule({
      DomainName: 'push.example.com',
      AppName: 'live',
      StreamName: 's1',
      TemplateId: 1,
    });
    const again = await openBook();
    expect(again.templates).toEqual([a]);
    expect(again.template(1)?.Mp4Param).toEqual({ RecordInterval: 600, StorageTime: 0, Enable: 1 });
    expect(again.template(1)?.HlsParam).toEqual({ RecordInterval: 1800, StorageTime: 0, Enable: 0 });
    expect(again.rules).toEqual([
      {
        DomainName: 'push.example.com',
        AppName: 'live',
        StreamName: 's1',
        TemplateId: 1,
        createdMs: 1_700_000_000_000,
        updatedMs: 1_700_000_000_000,
      },
    ]);
  });

  it('assigns TemplateIds from 1 and never reuses one, across reopens', async () => {
    const book = await openBook();
    expect((await book.createTemplate({ TemplateName: 'a' })).TemplateId).toBe(1);
    expect((await book.createTemplate({ TemplateName: 'b' })).TemplateId).toBe(2);
    await book.deleteTemplate(2);
    const again = await openBook();
    expect((await again.createTemplate({ TemplateName: 'c' })).TemplateId).toBe(3);
    expect(again.templates.map((t) => t.TemplateId)).toEqual([1, 3]);
  });

  it('modify changes only the fields given', async () => {
    const book = await openBook();
    await book.createTemplate({
      TemplateName: 'a',
      Description: 'first',
      FlvParam: { Enable: 1, RecordInterval: 900, StorageTime: 86_400, VodSubAppId: 7 },
    });
    const changed = await book.modifyTemplate({
      TemplateId: 1,
      FlvParam: { StorageTime: 0 },
      Description: 'second',
    });
    expect(changed.FlvParam).toEqual({ Enable: 1, RecordInterval: 900, StorageTime: 0, VodSubAppId: 7 });
    expect(changed.Description).toBe('second');
    expect(changed.TemplateName).toBe('a');
    expect((await openBook()).template(1)).toEqual(changed);
  });

  it('refuses unknown templates, templates in use, duplicate and unknown rules, and a 51st template', async () => {
    const book = await openBook();
    expect(await codeOf(book.modifyTemplate({ TemplateId: 9 }))).toBe('TEMPLATE_NOT_FOUND');
    expect(await codeOf(book.deleteTemplate(9))).toBe('TEMPLATE_NOT_FOUND');
    expect(
      await codeOf(book.createRule({ DomainName: 'd', AppName: '', StreamName: '', TemplateId: 9 })),
    ).toBe('TEMPLATE_NOT_FOUND');
    await book.createTemplate({ TemplateName: 'a' });
    await book.createRule({ DomainName: 'd', AppName: '', StreamName: '', TemplateId: 1 });
    expect(
      await codeOf(book.createRule({ DomainName: 'D', AppName: '', StreamName: '', TemplateId: 1 })),
    ).toBe('RULE_EXISTS');
    expect(await codeOf(book.deleteTemplate(1))).toBe('TEMPLATE_IN_USE');
    expect(await codeOf(book.deleteRule({ DomainName: 'd', AppName: 'live', StreamName: '' }))).toBe(
      'RULE_NOT_FOUND',
    );
    await book.deleteRule({ DomainName: 'd', AppName: '', StreamName: '' });
    await book.deleteTemplate(1);
    for (let i = 0; i < 50; i++) await book.createTemplate({ TemplateName: `t${i}` });
    expect(await codeOf(book.createTemplate({ TemplateName: 'one-too-many' }))).toBe('TEMPLATE_LIMIT');
  });

  it('a refused change leaves memory and the file as they were', async () => {
    const book = await openBook({ validate: requireRetention });
    expect(await codeOf(book.createTemplate({ TemplateName: 'forever', Mp4Param: { Enable: 1 } }))).toBe(
      'TEMPLATE_INVALID',
    );
    await book.createTemplate({ TemplateName: 'kept', Mp4Param: { Enable: 1, StorageTime: 86_400 } });
    expect(book.templates.map((t) => t.TemplateId)).toEqual([1]);
    const file = JSON.parse(await readFile(path, 'utf8')) as { nextTemplateId: number };
    expect(file.nextTemplateId).toBe(2);
  });

  it('refuses to load a state file it cannot read', async () => {
    const book = await openBook();
    await book.createTemplate({ TemplateName: 'a' });
    await writeFile(path, '{"version":1,"templates":[');
    await expect(new TemplateBook({ store: new FileDocumentStore(path) }).load()).rejects.toBeInstanceOf(
      TemplateStoreError,
    );
  });

  it('changes made at once are all stored', async () => {
    const book = await openBook();
    await Promise.all(Array.from({ length: 10 }, (_, i) => book.createTemplate({ TemplateName: `t${i}` })));
    expect((await openBook()).templates.map((t) => t.TemplateId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
