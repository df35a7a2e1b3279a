/** A one-line progress bar on stderr; on a non-terminal, a plain line every tenth of the way. */
export class ProgressBar {
  readonly #out: NodeJS.WriteStream;
  #lastTenth = -1;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
  }

  /** done/total of the current phase, with a label and a free-form status. */
  update(label: string, done: number, total: number, status: string): void {
    const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    if (this.#out.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.#out.write(`\r\x1b[2K${label} ${bar} ${Math.round(fraction * 100)}% ${status}`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth !== this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#out.write(`${label} ${tenth * 10}% ${status}\n`);
    }
  }

  /** A line of its own (ends the bar's line first). */
  note(text: string): void {
    if (this.#out.isTTY) this.#out.write('\r\x1b[2K');
    this.#out.write(`${text}\n`);
    this.#lastTenth = -1;
  }
}
