// Browser-only SPA: no server rendering, no prerendering (adapter-static fallback serves index.html).
export const ssr = false;
export const prerender = false;
