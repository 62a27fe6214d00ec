/**
 * Consumer processes for the durable tests (test/durable/child.ts run with the loader of this
 * very process): their `start`/`done`/`interrupted` lines as events, their stderr kept.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const childScript = fileURLToPath(new URL("./child.ts", import.meta.url))

export interface Event {
  readonly at: number
  readonly kind: "start" | "done" | "interrupted"
  readonly id: string
  readonly attempt: number
}

export class Child {
  readonly events: Array<Event> = []
  stderr = ""
  readonly process: ChildProcess
  readonly ready: Promise<void>
  /** the signal that ended it, or null when it exited on its own */
  readonly exited: Promise<NodeJS.Signals | null>
  constructor(args: ReadonlyArray<string>, onEvent: () => void = () => undefined) {
    // the loader in this very process: the tsx CLI would run the script in a grandchild that
    // SIGKILL and SIGSTOP do not reach
    this.process = spawn(process.execPath, ["--import", "tsx", childScript, ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let markReady: () => void
    this.ready = new Promise((resolve) => markReady = resolve)
    this.exited = new Promise((resolve) => this.process.once("exit", (_code, signal) => resolve(signal)))
    this.process.stderr!.on("data", (data) => this.stderr += data)
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      const [kind, id, attempt] = line.split(" ")
      if (kind === "ready") return markReady()
      this.events.push({ at: Date.now(), kind: kind as Event["kind"], id, attempt: Number(attempt ?? 0) })
      onEvent()
    })
  }
  count(kind: Event["kind"]) {
    return this.events.filter((event) => event.kind === kind).length
  }
  of(kind: Event["kind"], id: string) {
    return this.events.filter((event) => event.kind === kind && event.id === id)
  }
}

/** polls `check` every 5 ms (real time: the subject is other processes) until it holds, at most `within` ms */
export const until = (check: () => boolean, within: number, what: string) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now()
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer)
        resolve()
      } else if (Date.now() - started > within) {
        clearInterval(timer)
        reject(new Error(`${what}: not within ${within} ms`))
      }
    }, 5)
  })
