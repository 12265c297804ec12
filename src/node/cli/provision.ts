/**
 * `npm run -s provision -- --port <path | sim> --out DIR [--profile …] [--serial …] [--known LABEL=FILE]...`
 *
 * Provisions the board on a serial device or pty (e.g. the reference firmware's, docs/firmware.md),
 * or the simulated board with `--port sim` (what `npm run provision:sim` runs), with the app's
 * provisioning code; writes root.pem, intermediate.pem, device.pem, device-pubkey.pem, result.json
 * and audit.jsonl to DIR. See provision-run.ts.
 */
import { provisionCli } from './provision-run';

provisionCli(process.argv.slice(2), { name: 'provision', fixedPort: null });
