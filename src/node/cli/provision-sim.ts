/**
 * `npm run -s provision:sim -- --out DIR [--profile tfm-sample|supervisor|settings-only] [--baud 115200]`
 *
 * `npm run provision -- --port sim`: provisions the simulated board on a real-time serial link
 * model (115200 baud by default) with the app's provisioning code, and writes root.pem,
 * intermediate.pem, device.pem, device-pubkey.pem, result.json and audit.jsonl to DIR. See
 * provision-run.ts.
 */
import { provisionCli } from './provision-run';

provisionCli(process.argv.slice(2), { name: 'provision:sim', fixedPort: 'sim' });
