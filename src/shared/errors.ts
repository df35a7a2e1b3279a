/** Base of every error the recorder raises on purpose: a stable `code`, an optional `cause`. */
export class AppError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration: the CLI exits with code 2. */
export class ConfigError extends AppError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [message],
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** A state machine was asked for a move its table does not allow. */
export class InvalidStateError extends AppError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/** A stream id, app name or file name that could escape its directory or break a name. */
export class InvalidNameError extends AppError {
  constructor(message: string) {
    super('INVALID_NAME', message);
  }
}

/** An ffmpeg process exited in a way nobody asked for; carries its stderr tail. */
export class FfmpegExitError extends AppError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: readonly string[],
  ) {
    super('FFMPEG_EXIT', message);
  }
}

/** The media a publisher sends cannot be recorded (codec, missing track). */
export class UnsupportedMediaError extends AppError {
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA', message);
  }
}

/** A callback receiver answered something other than 200, or not at all. */
export class CallbackRejectedError extends AppError {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super('CALLBACK_REJECTED', message);
  }
}

/** A listening port could not be bound. */
export class ListenError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LISTEN_FAILED', message, options);
  }
}

/** Message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
