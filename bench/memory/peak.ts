/**
 * Peak memory of one run, above a collected baseline. A timer alone misses peaks when a
 * producer never yields to the event loop (promise-only loops run entirely on microtasks), so
 * producers also call `sample()` every few thousand tasks — the same for every alternative.
 */

const MB = 2 ** 20

export class Peak {
  private readonly baseHeap: number
  private readonly baseRss: number
  private heap = 0
  private rss = 0
  private readonly timer: ReturnType<typeof setInterval>

  constructor() {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc === undefined) throw new Error("run with node --expose-gc: the baseline needs a full collection")
    gc()
    const m = process.memoryUsage()
    this.baseHeap = m.heapUsed
    this.baseRss = m.rss
    this.timer = setInterval(() => this.sample(), 2)
  }

  sample(): void {
    const m = process.memoryUsage()
    if (m.heapUsed > this.heap) this.heap = m.heapUsed
    if (m.rss > this.rss) this.rss = m.rss
  }

  /** Peak heap and RSS growth over the baseline, in MB. */
  stop(): { heapMB: number; rssMB: number } {
    this.sample()
    clearInterval(this.timer)
    return { heapMB: (this.heap - this.baseHeap) / MB, rssMB: (this.rss - this.baseRss) / MB }
  }
}

/** How often producers sample: rare enough to cost nothing, often enough to see the peak. */
export const SAMPLE_EVERY = 4096
