/**
 * Verifying imported exports off the main thread: the files' bytes go to a module Worker
 * (audit-verify.worker.ts) which decodes, parses, verifies and merges them and reports its stage
 * as it goes; the tab stays responsive whatever the files hold (a 50 MB export, a truncated one,
 * a photo), and the operator can cancel. Where there is no Worker (Node, tests) the same steps run
 * inline with a yield between files.
 */
import { formatProblem, verifyExports, type VerifyReport } from '../audit';

/** Larger files are refused before any work: an audit export of a million records is ~450 MB. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

export type VerifyStage = 'reading' | 'decoding' | 'verifying';

export interface VerifyProgress {
  stage: VerifyStage;
  /** Bytes handled so far and in all, for the progress bar. */
  done: number;
  total: number;
  file?: string;
}

export type VerifyOutcome = VerifyReport & { lines: string[] };

export interface VerifyFile {
  name: string;
  bytes: Uint8Array;
}

/** Messages from the worker. */
export type VerifyMessage = { type: 'progress'; progress: VerifyProgress } | { type: 'done'; report: VerifyOutcome } | { type: 'error'; message: string };

export interface VerifyJob {
  result: Promise<VerifyOutcome>;
  cancel(): void;
}

/** The work itself, shared by the worker and the inline fallback. */
export async function runVerify(files: readonly VerifyFile[], progress: (p: VerifyProgress) => void, pause: () => Promise<void> = async () => {}): Promise<VerifyOutcome> {
  const total = files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
  const decoder = new TextDecoder('utf-8');
  const inputs: Array<{ name: string; text: string }> = [];
  let done = 0;
  for (const file of files) {
    progress({ stage: 'decoding', done, total, file: file.name });
    await pause();
    inputs.push({ name: file.name, text: decoder.decode(file.bytes) });
    done += file.bytes.byteLength;
  }
  progress({ stage: 'verifying', done: total, total });
  await pause();
  const report = await verifyExports(inputs);
  return { ...report, lines: report.problems.map(formatProblem) };
}

const pauseInline = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Starts a verification: in a Worker when the platform has one, else inline. */
export function startVerify(files: readonly VerifyFile[], progress: (p: VerifyProgress) => void, useWorker = typeof Worker !== 'undefined'): VerifyJob {
  if (!useWorker) {
    let cancelled = false;
    const result = runVerify(files, (p) => !cancelled && progress(p), pauseInline).then((report) => {
      if (cancelled) throw new Error('cancelled');
      return report;
    });
    return { result, cancel: () => void (cancelled = true) };
  }
  const worker = new Worker(new URL('./audit-verify.worker.ts', import.meta.url), { type: 'module' });
  let settle: { resolve: (r: VerifyOutcome) => void; reject: (e: Error) => void } | null = null;
  const result = new Promise<VerifyOutcome>((resolve, reject) => (settle = { resolve, reject }));
  const finish = (outcome: VerifyOutcome | Error) => {
    worker.terminate();
    const pending = settle;
    settle = null;
    if (!pending) return;
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  };
  worker.onmessage = (event: MessageEvent<VerifyMessage>) => {
    const message = event.data;
    if (message.type === 'progress') progress(message.progress);
    else if (message.type === 'done') finish(message.report);
    else finish(new Error(message.message));
  };
  worker.onerror = (event) => finish(new Error(event.message || 'the verification worker failed'));
  // Copies, so the caller keeps its bytes; transferred, so the copy is not made twice.
  const copies = files.map((file) => ({ name: file.name, bytes: file.bytes.slice() }));
  worker.postMessage({ files: copies }, copies.map((file) => file.bytes.buffer));
  return { result, cancel: () => finish(new Error('cancelled')) };
}
