// Runs every `@example` of the given modules (docgen only typechecks them) and checks that
// what each prints is what its comments say: a line with `console.log(…) // text` must print
// `text`, in order. An example that throws, rejects or does not print what it promises within
// 10 s fails the run. Every export must have an
// `@example` and a `@category`.
//
// Usage: npx tsx scripts/run-doc-examples.ts src/Errors.ts src/Outcome.ts …
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format } from "node:util"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const scratch = join(root, ".scratch", "doc-examples")
const entryPoints: Record<string, string> = {
  "effect-supervisor": "src/index.ts",
  "effect-supervisor/threads": "src/threads/index.ts"
}

interface Example {
  readonly name: string
  readonly code: string
  readonly expected: ReadonlyArray<string>
}

const undocumented: Array<string> = []

const examplesOf = (file: string): Array<Example> => {
  const source = readFileSync(join(root, file), "utf8")
  const comments = [...source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(export\s+)?(?:declare\s+)?(?:\w+\s+)?(\w+)?/g)]
  return comments.flatMap(([, body, isExport, exported], blockIndex) => {
    const code = body.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n")
    if (isExport !== undefined && !(code.includes("@example") && code.includes("@category"))) {
      undocumented.push(`${file}: ${exported} needs an @example and a @category`)
    }
    const fenced = [...code.matchAll(/@example\s*```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    return fenced.map((snippet, i) => ({
      name: `${relative("src", file).replace(/\W/g, "_")}-${blockIndex}-${exported}-${i}`,
      code: snippet.replace(
        /from "(effect-supervisor(?:\/[\w]+)?)"/g,
        (_, specifier: string) =>
          `from ${JSON.stringify(join(root, entryPoints[specifier] ?? `src/${specifier.split("/")[1]}.ts`))}`
      ),
      expected: snippet.split("\n")
        .filter((line) => line.includes("console.log"))
        .flatMap((line) => {
          const comment = /\/\/ (.*)$/.exec(line)
          return comment === null ? [] : [comment[1].trim()]
        })
    }))
  })
}

// An example becomes a module whose default export runs its statements, so all of them run
// in this one process (a tsx process per example took ~3 s each on this box). An example that
// is its own worker file (`if (isMainThread) … else ThreadRunner.serve(…)`) is loaded again on
// each thread it starts: there nothing captures what it prints, so it runs on import, as the
// file would.
const asModule = (code: string): string => {
  const lines = code.split("\n")
  const isImport = (line: string) => line.startsWith("import ")
  return [
    ...lines.filter(isImport),
    "const example = async () => {",
    ...lines.filter((l) => !isImport(l)),
    "}",
    "export default example",
    "if (!(await import(\"node:worker_threads\")).isMainThread) await example()"
  ].join("\n")
}

const run = async (example: Example): Promise<string | undefined> => {
  const path = join(scratch, `${example.name}.ts`)
  writeFileSync(path, asModule(example.code))
  const printed: Array<string> = []
  let failure: string | undefined
  const log = console.log
  const onRejection = (error: unknown) => (failure = `rejected: ${String(error)}`)
  console.log = (...args: Array<unknown>) => {
    const text = format(...args)
    // Effect's default logger (the supervisor warns on restarts) prints through console.log too
    if (!text.startsWith("timestamp=")) printed.push(...text.split("\n"))
  }
  process.on("unhandledRejection", onRejection)
  try {
    const module = await import(pathToFileURL(path).href)
    await module.default()
    // examples print from `Effect.runPromise(…).then(…)`: wait for what their comments promise
    const deadline = Date.now() + 10_000
    while (printed.length < example.expected.length && failure === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } catch (error) {
    failure = `threw: ${String(error)}`
  } finally {
    console.log = log
    process.off("unhandledRejection", onRejection)
  }
  if (failure !== undefined) return failure
  if (example.expected.length > 0 && JSON.stringify(printed) !== JSON.stringify(example.expected)) {
    return `printed ${JSON.stringify(printed)}, the comments say ${JSON.stringify(example.expected)}`
  }
  return undefined
}

const files = process.argv.slice(2)
rmSync(scratch, { recursive: true, force: true })
mkdirSync(scratch, { recursive: true })
const examples = files.flatMap(examplesOf)
const failures: Array<string> = []
for (const example of examples) {
  const failure = await run(example)
  if (failure !== undefined) failures.push(`${example.name}: ${failure}`)
}
rmSync(scratch, { recursive: true, force: true })
for (const failure of [...undocumented, ...failures]) console.error(`FAIL ${failure}`)
console.log(`${examples.length - failures.length} of ${examples.length} examples ran as documented`)
process.exit(failures.length === 0 && undocumented.length === 0 && examples.length > 0 ? 0 : 1)
