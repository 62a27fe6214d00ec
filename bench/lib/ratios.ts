/**
 * Ratios of one alternative against another in the same group, round by round.
 * Time groups compare speed (base time / time: > 1 is faster); memory groups compare size
 * (MB / base MB: > 1 is bigger), so every ratio reads the way its target is stated.
 */
import type { AltSamples, Group } from "./protocol.js"
import type { Summary } from "./stats.js"
import { summarize } from "./stats.js"

export const findAlt = (group: Group, name: string): AltSamples | undefined =>
  group.alternatives.find((a) => a.name === name)

/** Per-round ratio of `alt` over `base`, summarized; undefined if either is missing. */
export const ratio = (group: Group, altName: string, baseName: string): Summary | undefined => {
  const alt = findAlt(group, altName)
  const base = findAlt(group, baseName)
  if (alt === undefined || base === undefined) return undefined
  const n = Math.min(alt.samples.length, base.samples.length)
  if (n === 0) return undefined
  const rs: Array<number> = []
  for (let i = 0; i < n; i++) {
    rs.push(group.unit === "ms" ? base.samples[i]! / alt.samples[i]! : alt.samples[i]! / base.samples[i]!)
  }
  return summarize(rs)
}

export const fmtRatio = (s: Summary | undefined): string =>
  s === undefined ? "—" : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
