/// <reference lib="webworker" />
// The verification worker: decodes, parses, verifies and merges audit exports away from the page
// (audit-verify-job.ts starts it and reads its messages).
import { runVerify, type VerifyFile, type VerifyMessage } from './audit-verify-job';

const post = (message: VerifyMessage) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(message);

self.onmessage = async (event: MessageEvent<{ files: VerifyFile[] }>) => {
  try {
    const report = await runVerify(event.data.files, (progress) => post({ type: 'progress', progress }));
    post({ type: 'done', report });
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};
