/** Order statistics for small samples; medians resist the outliers a shared machine produces. */

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const summarize = (xs: ReadonlyArray<number>): Summary => ({
  median: median(xs),
  min: xs.length === 0 ? Number.NaN : Math.min(...xs),
  max: xs.length === 0 ? Number.NaN : Math.max(...xs)
})

/**
 * Speed of `alt` relative to `base`, round by round (base time / alt time, > 1 is faster).
 * Pairing samples of the same round cancels most of the drift between rounds.
 */
export const speedRatio = (base: ReadonlyArray<number>, alt: ReadonlyArray<number>): Summary => {
  const n = Math.min(base.length, alt.length)
  const ratios: Array<number> = []
  for (let i = 0; i < n; i++) ratios.push(base[i]! / alt[i]!)
  return summarize(ratios)
}
