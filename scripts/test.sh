#!/usr/bin/env bash
# Full test run (`npm test`): typecheck, unit tests, build, e2e. Every step runs even if
# an earlier one fails; scripts/summarize.js then prints the closing `N passed, N failed` line.
set -uo pipefail
cd "$(dirname "$0")/.."

rm -rf reports
mkdir -p reports

step() { echo; echo "=== $* ==="; }

step "chromium"
node scripts/ensure-chromium.js; chromium=$?

step "typecheck (npm run check)"
npm run check; check=$?

step "unit tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile=reports/unit.json; unit=$?

step "build (vite build)"
rm -rf build
npx vite build; build=$?

step "e2e (playwright)"
# A free port for the app server, so another test run on this machine cannot collide with this one.
E2E_PORT=${E2E_PORT:-$(node -e "const s=require('net').createServer();s.listen(0,()=>{console.log(s.address().port);s.close()})")}
export E2E_PORT
npx playwright test; e2e=$?

step "summary"
node scripts/summarize.js chromium=$chromium check=$check unit=$unit build=$build e2e=$e2e
