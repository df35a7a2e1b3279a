import { Agent } from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { probe } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderTasks0001', secretKey: 'recorder-tasks-secret-0001' };
// The SDK would otherwise route even 127.0.0.1 through an `http_proxy` from the environment.
const agent = new Agent();
const nowSeconds = () => Math.floor(Date.now() / 1000);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

let rec: TestRecorder;
let receiver: CallbackReceiver;
let live: CommonClient;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  // Nothing is recorded unless a task (or a rule) asks for it.
  rec = await startRecorder({
    api: { credentials: [KEY] },
    record: { formats: ['mp4'], auto: false },
    callback: { url: receiver.url },
  });
  live = new CommonClient('live.tencentcloudapi.com', '2018-08-01', {
    credential: KEY,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent } },
  });
});

afterAll(async () => {
  await rec?.stop();
  await receiver?.close();
  agent.destroy();
});

const fileOf = (stream: string) => (b: Record<string, unknown>) =>
  b.event_type === 100 && b.stream_id === stream;

async function createTask(stream: string, seconds: number): Promise<string> {
  const answer = await live.request('CreateRecordTask', {
    DomainName: '127.0.0.1',
    AppName: 'live',
    StreamName: stream,
    EndTime: nowSeconds() + seconds,
  });
  expect(answer.TaskId).toMatch(/^[A-Za-z0-9_-]+$/);
  return answer.TaskId as string;
}

describe('on-demand recording tasks (CreateRecordTask, StopRecordTask)', () => {
  it('a task opened on a live stream records from then on, and StopRecordTask ends it while the push goes on', async () => {
    const pusher = publish(rec.rtmpUrl('t1', 'userid=dXNlcjE%3D'), { seconds: 14 });
    await delay(3000);
    expect(receiver.bodies.filter(fileOf('t1'))).toEqual([]);
    const taskId = await createTask('t1', 600);
    await delay(6000);
    await live.request('StopRecordTask', { TaskId: taskId });
    const [body] = await receiver.waitFor(fileOf('t1'), 1, 60_000);
    expect(body!.task_id).toBe(taskId);
    // Tencent: callbacks of task recordings carry no stream_param.
    expect(body!.stream_param).toBe('');
    const duration = Number((await probe(String(body!.video_url))).format.duration);
    expect(duration).toBeGreaterThan(3);
    expect(duration).toBeLessThan(10);
    // The publisher was never closed by the recorder.
    expect(await pusher.exited).toBe(0);
    expect(receiver.bodies.filter(fileOf('t1'))).toHaveLength(1);
  });

  it('a task outlives an interruption: each push inside its window is recorded with its task_id', async () => {
    const taskId = await createTask('t2', 120);
    for (let i = 0; i < 2; i++) {
      const pusher = publish(rec.rtmpUrl('t2'), { seconds: 4 });
      expect(await pusher.exited).toBe(0);
    }
    const bodies = await receiver.waitFor(fileOf('t2'), 2, 60_000);
    expect(bodies.map((b) => b.task_id)).toEqual([taskId, taskId]);
    await live.request('StopRecordTask', { TaskId: taskId });
  });

  it('a push with no open task is accepted and not recorded', async () => {
    const pusher = publish(rec.rtmpUrl('t3'), { seconds: 3 });
    expect(await pusher.exited).toBe(0);
    await eventually(() => rec.recorder.manager.sessions.length === 0, 10_000, 'no recording');
    await delay(1000);
    expect(receiver.bodies.filter(fileOf('t3'))).toEqual([]);
  });

  it("answers Tencent's limits: at most 3 overlapping tasks per stream, EndTime within 7 days", async () => {
    for (let i = 0; i < 3; i++) await createTask('t4', 3600);
    await expect(createTask('t4', 3600)).rejects.toMatchObject({ code: 'LimitExceeded.MaximumRunningTask' });
    await expect(createTask('t5', 8 * 86_400)).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(live.request('StopRecordTask', { TaskId: 'no-such-task' })).rejects.toMatchObject({
      code: 'ResourceNotFound.TaskId',
    });
  });

  it('DescribeRecordTask lists tasks through the SDK in Tencent fields, and a stopped one with its stop time', async () => {
    const from = nowSeconds() - 5;
    const a = await createTask('t6', 300);
    const b = await createTask('t7', 300);
    await live.request('StopRecordTask', { TaskId: b });
    const answer = await live.request('DescribeRecordTask', {
      StartTime: from,
      EndTime: from + 3600,
      AppName: 'live',
    });
    const listed = (answer.TaskList as Record<string, unknown>[]).filter((t) =>
      [a, b].includes(String(t.TaskId)),
    );
    expect(listed).toEqual([
      expect.objectContaining({
        TaskId: a,
        DomainName: '127.0.0.1',
        AppName: 'live',
        StreamName: 't6',
        Stopped: 0,
      }),
      expect.objectContaining({ TaskId: b, StreamName: 't7', Stopped: expect.any(Number) }),
    ]);
    expect(Number(listed[1]!.Stopped)).toBeGreaterThanOrEqual(from);
    expect(answer.ScrollToken).toBe('');
    const one = await live.request('DescribeRecordTask', {
      StartTime: from,
      EndTime: from + 3600,
      StreamName: 't6',
    });
    expect((one.TaskList as { TaskId: string }[]).map((t) => t.TaskId)).toEqual([a]);
    await expect(
      live.request('DescribeRecordTask', { StartTime: from, EndTime: from + 8 * 86_400 }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
  });

  it('DeleteRecordTask does not cut the recording it runs, and the next push is not recorded', async () => {
    const taskId = await createTask('t8', 600);
    const pusher = publish(rec.rtmpUrl('t8'), { seconds: 6 });
    await eventually(
      () => rec.recorder.manager.sessionOf('live', 't8')?.state === 'recording',
      15_000,
      'recording',
    );
    await live.request('DeleteRecordTask', { TaskId: taskId });
    expect(await pusher.exited).toBe(0);
    const [body] = await receiver.waitFor(fileOf('t8'), 1, 60_000);
    expect(body!.task_id).toBe(taskId);
    // The whole push is in the file: the deletion cut nothing.
    expect(Number((await probe(String(body!.video_url))).format.duration)).toBeGreaterThan(4.5);
    const listed = await live.request('DescribeRecordTask', {
      StartTime: nowSeconds() - 60,
      EndTime: nowSeconds() + 3600,
    });
    expect((listed.TaskList as { TaskId: string }[]).map((t) => t.TaskId)).not.toContain(taskId);

    const again = publish(rec.rtmpUrl('t8'), { seconds: 3 });
    expect(await again.exited).toBe(0);
    await eventually(() => rec.recorder.manager.sessions.length === 0, 10_000, 'no recording');
    await delay(1000);
    expect(receiver.bodies.filter(fileOf('t8'))).toHaveLength(1);
    await expect(live.request('DeleteRecordTask', { TaskId: taskId })).rejects.toMatchObject({
      code: 'ResourceNotFound.TaskId',
    });
  });
});
