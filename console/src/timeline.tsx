import { useEffect, useRef, useState } from 'preact/hooks';
import { clock } from './format.js';
import { cueAt, type ThumbnailCue } from './vtt.js';

/** A point of a recording's timeline to jump to: a marker (a chapter) or a product push. */
export interface TimelinePoint {
  id: string;
  kind: 'marker' | 'product';
  /** Media seconds. */
  seconds: number;
  label: string;
}

export interface TimelineProps {
  /** Seconds of media. */
  duration: number;
  current: number;
  /** Where a resumed recording's runs meet (a discontinuity), seconds. */
  marks: readonly number[];
  /** The wall-clock time of a media time, when it is known. */
  wallClock: (seconds: number) => string | undefined;
  onSeek: (seconds: number) => void;
  /** Scrub thumbnails, when the recording has them. */
  thumbnails?: readonly ThumbnailCue[];
  /** Markers and product pushes, drawn as flags beside the track. */
  points?: readonly TimelinePoint[];
}

/** The tile of the sprite for time t, drawn on a canvas (loaded once per sprite). */
function Thumbnail({ cue }: { cue: ThumbnailCue }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const image = spriteImage(cue.src);
    const draw = () =>
      canvas.current?.getContext('2d')?.drawImage(image, cue.x, cue.y, cue.w, cue.h, 0, 0, cue.w, cue.h);
    if (image.complete) draw();
    else image.addEventListener('load', draw, { once: true });
  }, [cue]);
  return <canvas ref={canvas} class="thumb" width={cue.w} height={cue.h} aria-hidden="true" />;
}

const sprites = new Map<string, HTMLImageElement>();
function spriteImage(src: string): HTMLImageElement {
  let image = sprites.get(src);
  if (!image) {
    image = new Image();
    image.src = src;
    sprites.set(src, image);
  }
  return image;
}

/**
 * One lane of points, beside the slider, not in it: a slider's children are not buttons to assistive
 * technology, and a click on a flag must not start a drag of the track. Markers are above the track, product
 * pushes below it, so that a marker and the push announced with it are both there to click.
 */
function Flags({
  points,
  kind,
  span,
  onSeek,
}: {
  points: readonly TimelinePoint[] | undefined;
  kind: TimelinePoint['kind'];
  span: number;
  onSeek: (seconds: number) => void;
}) {
  const lane = (points ?? []).filter((p) => p.kind === kind);
  if (lane.length === 0) return null;
  return (
    <div class={`flags ${kind}s`}>
      {lane.map((p) => (
        <button
          key={p.id}
          type="button"
          class={`flag ${p.kind}`}
          style={{ left: `${(Math.min(p.seconds, span) / span) * 100}%` }}
          title={p.label}
          aria-label={`${p.kind} ${p.label} at ${clock(p.seconds)}`}
          data-seconds={p.seconds}
          onClick={() => onSeek(p.seconds)}
        />
      ))}
    </div>
  );
}

const STEP_S = 5;

/** A progress bar to click or drag, with the discontinuities marked and the time under the pointer shown. */
export function Timeline({ duration, current, marks, wallClock, onSeek, thumbnails, points }: TimelineProps) {
  const bar = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [drag, setDrag] = useState<number | null>(null);
  const span = duration > 0 ? duration : 1;
  const at = (clientX: number) => {
    const box = bar.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - box.left) / box.width)) * span;
  };
  const shown = drag ?? current;
  const pointer = hover ?? drag;
  const key = (event: KeyboardEvent) => {
    const moves: Record<string, number> = {
      ArrowLeft: -STEP_S,
      ArrowRight: STEP_S,
      PageDown: -60,
      PageUp: 60,
      Home: -Infinity,
      End: Infinity,
    };
    const move = moves[event.key];
    if (move === undefined) return;
    event.preventDefault();
    onSeek(Math.min(span, Math.max(0, current + move)));
  };
  return (
    <div class="timeline">
      <Flags points={points} kind="marker" span={span} onSeek={onSeek} />
      <div
        ref={bar}
        class="track"
        role="slider"
        tabIndex={0}
        aria-label="position"
        aria-valuemin={0}
        aria-valuemax={Math.round(span)}
        aria-valuenow={Math.round(shown)}
        aria-valuetext={`${clock(shown)} of ${clock(span)}`}
        onKeyDown={key}
        onPointerDown={(e) => {
          bar.current!.setPointerCapture(e.pointerId);
          setDrag(at(e.clientX));
        }}
        onPointerMove={(e) => {
          setHover(at(e.clientX));
          if (drag !== null) setDrag(at(e.clientX));
        }}
        onPointerUp={(e) => {
          if (drag === null) return;
          const to = at(e.clientX);
          setDrag(null);
          onSeek(to);
        }}
        onPointerLeave={() => setHover(null)}
      >
        <div class="played" style={{ width: `${(shown / span) * 100}%` }} />
        {marks.map((m) => (
          <div
            class="mark"
            style={{ left: `${(m / span) * 100}%` }}
            title={`resumed at ${clock(m)}`}
            data-seconds={m}
          />
        ))}
        <div class="head" style={{ left: `${(shown / span) * 100}%` }} />
        {pointer !== null && (
          <div class="tip" style={{ left: `${(pointer / span) * 100}%` }} role="tooltip">
            {thumbnails && cueAt(thumbnails, pointer) && <Thumbnail cue={cueAt(thumbnails, pointer)!} />}
            <strong>{clock(pointer)}</strong>
            {wallClock(pointer) && <span class="wall">{wallClock(pointer)}</span>}
          </div>
        )}
      </div>
      <Flags points={points} kind="product" span={span} onSeek={onSeek} />
      <div class="times">
        <span>{clock(shown)}</span>
        <span>{clock(span)}</span>
      </div>
    </div>
  );
}
