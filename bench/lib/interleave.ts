/**
 * Interleaved measurement: every round runs each alternative once (A B C, A B C, …), so a
 * burst of noise on this shared machine hits all alternatives alike instead of one of them.
 * Warm-up rounds run the same code first so every alternative is JIT-compiled before counting.
 */

export interface Alternative {
  readonly name: string
  /** Prepare one run outside the timed region (fresh input, fresh pool state, …). */
  readonly setup?: () => Promise<void> | void
  /** The timed work. It must check its own result so a broken alternative fails loudly. */
  readonly run: () => Promise<void>
}

export interface Counts {
  readonly warmup: number
  readonly reps: number
}

/** Collects garbage between runs when the process was started with --expose-gc. */
const collect = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
}

/** Rotates the starting alternative each round so none always runs right after a GC-heavy one. */
const orderFor = <T>(items: ReadonlyArray<T>, round: number): ReadonlyArray<T> => {
  const k = round % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/** Runs the rounds and returns wall times in ms per alternative, counted rounds only. */
export const interleave = async (
  alternatives: ReadonlyArray<Alternative>,
  counts: Counts,
  log: (line: string) => void = () => {}
): Promise<Map<string, Array<number>>> => {
  const samples = new Map<string, Array<number>>(alternatives.map((a) => [a.name, []]))
  const rounds = counts.warmup + counts.reps
  for (let round = 0; round < rounds; round++) {
    const counted = round >= counts.warmup
    for (const alt of orderFor(alternatives, round)) {
      if (alt.setup) await alt.setup()
      collect()
      const start = performance.now()
      await alt.run()
      const ms = performance.now() - start
      if (counted) samples.get(alt.name)!.push(ms)
      log(`${counted ? "rep" : "warm"} ${round + 1}/${rounds} ${alt.name}: ${ms.toFixed(1)} ms`)
    }
  }
  return samples
}
