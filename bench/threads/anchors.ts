/**
 * Scenario 3's non-Effect anchors on 2 threads: piscina, tinypool, and a raw worker_threads
 * dispatcher (FIFO, one task in flight per thread) as the floor of what postMessage costs.
 */
import { Worker } from "node:worker_threads"
import { Piscina } from "piscina"
import Tinypool from "tinypool"
import type { Kind, ThreadAlt } from "./types.js"
import { THREADS, workerUrl } from "./types.js"

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

export const piscina = (): ThreadAlt => {
  const pool = new Piscina({ filename: workerUrl("pool-worker.mjs").href, minThreads: THREADS, maxThreads: THREADS })
  return {
    name: "piscina",
    runAll: async (kind, xs) => sum(await Promise.all(xs.map((x) => pool.run({ kind, x }) as Promise<number>))),
    close: () => pool.destroy()
  }
}

export const tinypool = (): ThreadAlt => {
  const pool = new Tinypool({ filename: workerUrl("pool-worker.mjs").href, minThreads: THREADS, maxThreads: THREADS })
  return {
    name: "tinypool",
    runAll: async (kind, xs) => sum(await Promise.all(xs.map((x) => pool.run({ kind, x }) as Promise<number>))),
    close: () => pool.destroy()
  }
}

interface Pending {
  readonly kind: Kind
  readonly x: number
  readonly resolve: (v: number) => void
}

/** A minimal dispatcher: one queue, each idle thread takes the next task, one at a time. */
export const raw = (): ThreadAlt => {
  const queue: Array<Pending> = []
  let head = 0
  const inFlight = new Map<number, Pending>()
  let nextId = 0
  const threads = Array.from({ length: THREADS }, () => new Worker(workerUrl("raw-worker.mjs")))
  const idle: Array<Worker> = [...threads]
  const dispatch = () => {
    while (idle.length > 0 && head < queue.length) {
      const task = queue[head++]!
      const id = nextId++
      inFlight.set(id, task)
      idle.pop()!.postMessage([id, task.kind, task.x])
    }
    if (head === queue.length) queue.length = head = 0
  }
  for (const t of threads) {
    t.on("message", ([id, value]: [number, number]) => {
      const task = inFlight.get(id)!
      inFlight.delete(id)
      idle.push(t)
      task.resolve(value)
      dispatch()
    })
  }
  return {
    name: "raw worker_threads",
    runAll: async (kind, xs) => {
      const results = xs.map((x) => new Promise<number>((resolve) => queue.push({ kind, x, resolve })))
      dispatch()
      return sum(await Promise.all(results))
    },
    close: async () => {
      await Promise.all(threads.map((t) => t.terminate()))
    }
  }
}
