import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CreateCommonMixStreamRequest } from '../mix/layout.js';
import { MixRequestError, type MixService } from '../mix/mix-service.js';
import { parseTencentParams, TencentApiError, type TencentActionRegistry } from './tencent-api.js';

const num = z.number();
// Unknown keys are ignored, as for the other actions: a newer SDK's optional fields do no harm.
const createSchema = z.object({
  MixStreamSessionId: z.string(),
  InputStreamList: z.array(
    z.object({
      InputStreamName: z.string(),
      LayoutParams: z.object({
        ImageLayer: z.int(),
        InputType: z.int().optional(),
        ImageHeight: num.optional(),
        ImageWidth: num.optional(),
        LocationX: num.optional(),
        LocationY: num.optional(),
        Color: z.string().optional(),
        WatermarkId: z.int().optional(),
      }),
      CropParams: z
        .object({
          CropWidth: num.optional(),
          CropHeight: num.optional(),
          CropStartLocationX: num.optional(),
          CropStartLocationY: num.optional(),
        })
        .optional(),
    }),
  ),
  OutputParams: z.object({
    OutputStreamName: z.string(),
    OutputStreamType: z.int().optional(),
    OutputStreamBitRate: z.int().optional(),
    OutputStreamGop: z.int().optional(),
    OutputStreamFrameRate: z.int().optional(),
    OutputAudioBitRate: z.int().optional(),
    OutputAudioSampleRate: z.int().optional(),
    OutputAudioChannels: z.int().optional(),
    MixSei: z.string().optional(),
  }),
  MixStreamTemplateId: z.int().optional(),
  ControlParams: z.object({}).loose().optional(),
});

const cancelSchema = z.object({ MixStreamSessionId: z.string() });

/** Tencent's answer to a refused mix: InvalidParameter with `err_code [ N ],msg [ ... ]`, or UnsupportedOperation. */
function tencentError(err: unknown): unknown {
  if (!(err instanceof MixRequestError)) return err;
  if (err.kind === 'unsupported')
    return new TencentApiError('UnsupportedOperation', err.message, { cause: err });
  return new TencentApiError('InvalidParameter', `err_code [ ${err.code} ],msg [ ${err.message} ]`, {
    cause: err,
  });
}

/** `GET /api/mixes`: the open mix sessions, API and automatic (Tencent has no Describe action for them). */
export function registerMixRoutes(app: FastifyInstance, mixes: MixService): void {
  app.get('/api/mixes', async () => ({ mixes: mixes.list() }));
}

/** Registers CreateCommonMixStream and CancelCommonMixStream (Live API 2018-08-01). */
export function registerMixActions(registry: TencentActionRegistry, mixes: MixService): void {
  registry.register('live', 'CreateCommonMixStream', async (params, ctx) => {
    const request = parseTencentParams(createSchema, params) as CreateCommonMixStreamRequest;
    await mixes.create(request).catch((err: unknown) => {
      throw tencentError(err);
    });
    ctx.log.info(
      {
        mixSessionId: request.MixStreamSessionId,
        inputs: request.InputStreamList.length,
        secretId: ctx.secretId,
      },
      'mix created or changed',
    );
    return {};
  });

  registry.register('live', 'CancelCommonMixStream', async (params, ctx) => {
    const { MixStreamSessionId } = parseTencentParams(cancelSchema, params);
    await mixes.cancel(MixStreamSessionId).catch((err: unknown) => {
      throw tencentError(err);
    });
    ctx.log.info({ mixSessionId: MixStreamSessionId, secretId: ctx.secretId }, 'mix cancelled');
    return {};
  });
}
