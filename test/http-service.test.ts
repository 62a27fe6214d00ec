// examples/http-service.ts in a child process: a real HTTP server, real signals and a real exit
// code, so these tests run on real time. Every wait is bounded (a hang fails the test instead of
// stalling the run), and the job durations leave the scheduling of a loaded machine a second of
// slack either side of each ordering they assert.
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const entry = fileURLToPath(new URL("../examples/http-service.ts", import.meta.url))

/** The example as a child process, its stdout as lines. */
class Service {
  readonly lines: Array<string> = []
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  private readonly waiting = new Set<() => void>()

  constructor(args: ReadonlyArray<string>, env: Record<string, string>) {
    // the loader in this process: the tsx CLI would run the example in a grandchild, which is
    // not the process our SIGTERM reaches
    this.process = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"]
    })
    // real time on purpose: a bound on a real child process (a hang fails instead of stalling)
    const limit = setTimeout(() => this.process.kill("SIGKILL"), 40_000)
    this.exited = new Promise((resolve) =>
      this.process.once("exit", (code) => {
        clearTimeout(limit)
        resolve(code)
      })
    )
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      this.lines.push(line)
      for (const wake of this.waiting) wake()
    })
  }

  /** The first line matching `pattern`, once printed (within `within` ms). */
  line(pattern: RegExp, within = 20_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const line of this.lines) {
          const match = pattern.exec(line)
          if (match !== null) {
            this.waiting.delete(check)
            clearTimeout(timer)
            return resolve(match)
          }
        }
      }
      // real time: the server is a child process printing on its own clock
      const timer = setTimeout(() => {
        this.waiting.delete(check)
        reject(new Error(`no line ${pattern} within ${within} ms; got:\n${this.lines.join("\n")}`))
      }, within)
      this.waiting.add(check)
      check()
    })
  }
}

/** Whether a new TCP connection to `port` is accepted (true) or refused (false). */
const accepts = (port: number) =>
  new Promise<boolean>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once(
      "error",
      (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED" ? resolve(false) : reject(error)
    )
  })

const post = async (address: string, path: string) => {
  const response = await fetch(`${address}${path}`, { method: "POST", signal: AbortSignal.timeout(10_000) })
  return `${response.status} ${await response.text()}`
}

describe("examples/http-service.ts", () => {
  it("SIGTERM: refuses new connections, drains the jobs in flight up to DRAIN, exits 0", async () => {
    const service = new Service(["--serve"], { PORT: "0", DRAIN: "3 seconds" })
    const [, address, port] = await service.line(/^listening on (http:\/\/127\.0\.0\.1:(\d+)) /)
    expect(await post(address!, "/jobs?ms=1000")).toBe("202 {\"id\":1}")
    expect(await post(address!, "/jobs?ms=60000")).toBe("202 {\"id\":2}")
    expect(await post(address!, "/jobs?ms=800")).toBe("202 {\"id\":3}")
    expect(await post(address!, "/jobs?ms=abc")).toBe("400 ms must be an integer of milliseconds\n")
    const stats = await fetch(`${address}/stats`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json())
    expect(stats).toMatchObject({ submitted: 3, running: 2, queued: 1, succeeded: 0, workers: 2 })
    expect(await accepts(Number(port))).toBe(true)

    const signalled = Date.now()
    service.process.kill("SIGTERM")
    await service.line(/^stopping: /)
    // the jobs are still draining (job 1 has 1000 ms to go) and the listener is already closed
    expect(await accepts(Number(port))).toBe(false)
    expect(service.process.exitCode).toBeNull()

    expect(await service.exited).toBe(0)
    const elapsed = Date.now() - signalled
    expect(service.lines.slice(1)).toEqual([
      "stopping: no new connections; draining 2 running and 1 queued jobs for up to 3s",
      "job 1 done (1000 ms)",
      // queued when the signal came: a graceful drain still runs it
      "job 3 done (800 ms)",
      // still running at the deadline
      "job 2 interrupted (60000 ms, past the drain deadline)"
    ])
    // it waited for the deadline, and not for the 60 s job
    expect(elapsed).toBeGreaterThanOrEqual(3000)
    expect(elapsed).toBeLessThan(15_000)
  }, 60_000)

  it("with no arguments it serves, submits four jobs, signals itself and drains them, exiting 0", async () => {
    const service = new Service([], {})
    expect(await service.exited).toBe(0)
    const [, pid] = /^listening on http:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)$/.exec(service.lines[0] ?? "") ?? []
    expect(Number(pid)).toBe(service.process.pid)
    expect(service.lines.slice(1)).toEqual([
      "POST /jobs?ms=1000 -> 202 {\"id\":1}",
      "POST /jobs?ms=1200 -> 202 {\"id\":2}",
      "POST /jobs?ms=800 -> 202 {\"id\":3}",
      "POST /jobs?ms=10000 -> 202 {\"id\":4}",
      `sending SIGTERM to myself, as kill -TERM ${pid} would`,
      "stopping: no new connections; draining 2 running and 2 queued jobs for up to 3s",
      "job 1 done (1000 ms)",
      "job 2 done (1200 ms)",
      "job 3 done (800 ms)",
      "job 4 interrupted (10000 ms, past the drain deadline)"
    ])
  }, 60_000)
})
