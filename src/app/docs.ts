import { Scalar } from '@scalar/hono-api-reference'

/**
 * The API reference's browser bundle, served by us from public/ (Workers static assets; Node,
 * Deno and Bun through the asset source) so /docs works with no internet. Vendored by
 * scripts/vendor-docs.ts; the versioned path lets browsers cache it for good.
 */
export const DOCS_BUNDLE = '/vendor/scalar-api-reference-1.72.1/standalone.js'

/** GET /docs: Scalar's page over /openapi.json, loading nothing from outside this origin. */
export function docsPage(pageTitle: string) {
  return Scalar({
    url: '/openapi.json',
    pageTitle,
    cdn: DOCS_BUNDLE,
    // Scalar's default fonts come from its own font CDN; the system fonts need no network.
    withDefaultFonts: false,
  })
}
