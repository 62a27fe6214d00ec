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
