import type { MixConfig } from '../config/schema.js';
import type { PublishRequest } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CommonMixInputParam, CreateCommonMixStreamRequest } from './layout.js';
import type { MixService } from './mix-service.js';
import { gridRegions } from './presets.js';
import type { StreamHub } from './stream-hub.js';

export type RoomMixConfig = MixConfig['auto'];

/** The room a stream belongs to by the room pattern (TRTC's `SDKAppID_roomId_userId_main`), if any (pure). */
export function roomOf(stream: string, pattern: RegExp): { sdkappid: string; room: string } | undefined {
  const groups = pattern.exec(stream)?.groups;
  return groups?.app && groups.room ? { sdkappid: groups.app, room: groups.room } : undefined;
}

/** The output stream of a room: `{sdkappid}` and `{room}` filled in (pure). */
export function roomOutputName(template: string, room: { sdkappid: string; room: string }): string {
  return template.replaceAll('{sdkappid}', room.sdkappid).replaceAll('{room}', room.room);
}

/**
 * The CreateCommonMixStream request of a room's mix (pure): its members in the order they joined, on a black
 * canvas of the configured size, in a grid that fits their count, or in a preset (layer 1 the first member).
 */
export function roomMixRequest(
  sessionId: string,
  app: string,
  members: readonly string[],
  output: string,
  config: RoomMixConfig,
): CreateCommonMixStreamRequest {
  const name = (stream: string) => `${app}/${stream}`;
  let inputs: CommonMixInputParam[];
  if (config.template === 'grid') {
    const cells = gridRegions(members.length, config.width, config.height);
    inputs = [
      {
        InputStreamName: 'canvas',
        LayoutParams: {
          ImageLayer: 1,
          InputType: 3,
          ImageWidth: config.width,
          ImageHeight: config.height,
          Color: '0x000000',
        },
      },
      ...members.map((stream, i) => ({
        InputStreamName: name(stream),
        LayoutParams: {
          ImageLayer: i + 2,
          ImageWidth: cells[i]!.width,
          ImageHeight: cells[i]!.height,
          LocationX: cells[i]!.x,
          LocationY: cells[i]!.y,
        },
      })),
    ];
  } else {
    inputs = members.map((stream, i) => ({
      InputStreamName: name(stream),
      LayoutParams: {
        ImageLayer: i + 1,
        ...(i === 0 ? { ImageWidth: config.width, ImageHeight: config.height } : {}),
      },
    }));
  }
  return {
    MixStreamSessionId: sessionId,
    ...(config.template === 'grid' ? {} : { MixStreamTemplateId: config.template }),
    InputStreamList: inputs,
    OutputParams: {
      OutputStreamName: output,
      OutputStreamType: 1,
      OutputStreamFrameRate: config.frameRate,
      OutputAudioBitRate: config.audioBitrateKbps,
      ...(config.videoBitrateKbps ? { OutputStreamBitRate: config.videoBitrateKbps } : {}),
    },
  };
}

interface Room {
  sessionId: string;
  app: string;
  output: string;
  /** Streams publishing now, in the order they joined. */
  members: string[];
  running: boolean;
  idle: NodeJS.Timeout | undefined;
  /** Changes to the room's mix, one after another. */
  chain: Promise<void>;
}

/**
 * The automatic room mix (`mix.auto`): streams whose names match the room pattern are mixed per room, with no
 * API call. A room's mix starts at its `minInputs`-th member, follows members as they come and go (the layout
 * changes, the output file does not), and ends `idleSeconds` after the last one left.
 */
export class RoomMixes {
  readonly #config: RoomMixConfig;
  readonly #pattern: RegExp;
  readonly #mixes: MixService;
  readonly #log: Logger;
  readonly #rooms = new Map<string, Room>();
  readonly #unwatch: () => void;

  constructor(options: { config: RoomMixConfig; hub: StreamHub; mixes: MixService; logger: Logger }) {
    this.#config = options.config;
    this.#pattern = new RegExp(options.config.pattern);
    this.#mixes = options.mixes;
    this.#log = options.logger.child({ component: 'room-mix' });
    this.#unwatch = options.hub.watch((request, live) => this.#onPublish(request, live));
  }

  close(): void {
    this.#unwatch();
    for (const room of this.#rooms.values()) clearTimeout(room.idle);
    this.#rooms.clear();
  }

  #onPublish(request: PublishRequest, live: boolean): void {
    if (request.mix) return;
    const found = roomOf(request.stream, this.#pattern);
    if (!found) return;
    // Rooms are per app and SDKAppID: two apps with the same room id are two rooms.
    const key = `${request.app}/${found.sdkappid}_${found.room}`;
    let room = this.#rooms.get(key);
    if (!room) {
      if (!live) return;
      room = {
        sessionId: `auto_${request.app}_${found.sdkappid}_${found.room}`,
        app: request.app,
        output: roomOutputName(this.#config.output, found),
        members: [],
        running: false,
        idle: undefined,
        chain: Promise.resolve(),
      };
      this.#rooms.set(key, room);
    }
    const members = room.members.filter((m) => m !== request.stream);
    room.members = live ? [...members, request.stream] : members;
    this.#change(key, room);
  }

  #change(key: string, room: Room): void {
    room.chain = room.chain.then(async () => {
      clearTimeout(room.idle);
      room.idle = undefined;
      const count = room.members.length;
      if (count === 0) {
        if (!room.running) {
          this.#rooms.delete(key);
          return;
        }
        // Kept as it was, with empty regions, until the room has been idle long enough.
        room.idle = setTimeout(() => void this.#end(key, room), this.#config.idleSeconds * 1000);
        return;
      }
      if (!room.running && count < this.#config.minInputs) return;
      try {
        const request = roomMixRequest(room.sessionId, room.app, room.members, room.output, this.#config);
        await this.#mixes.create(request, { auto: true });
        if (!room.running)
          this.#log.info({ room: key, output: room.output, members: count }, 'room mix started');
        room.running = true;
      } catch (err) {
        this.#log.error({ room: key, err: errorMessage(err) }, 'room mix refused');
      }
    });
  }

  #end(key: string, room: Room): void {
    room.chain = room.chain.then(async () => {
      if (room.members.length > 0) return;
      this.#rooms.delete(key);
      await this.#mixes.cancel(room.sessionId).catch(() => undefined);
      this.#log.info({ room: key, output: room.output }, 'room mix ended: idle');
    });
  }
}
