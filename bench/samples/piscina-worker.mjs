// piscina's worker: the default export is called with the task and its result is sent back.
import { perform } from "./tasks.mjs"

export default ({ kind, x }) => perform(kind, x)
