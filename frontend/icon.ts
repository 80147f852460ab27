/**
 * Every site's icon, inline: a page that names no icon makes a desktop browser ask its host for
 * `/favicon.ico`, which the edge answers with a 404 (a console error on every page). As a data URI
 * it costs no request. The fronts' HTML names it as `%SITE_ICON%` (frontend/build.ts); the docs site
 * puts it in its head (docs/.vitepress/config.ts).
 */
const SVG =
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>" +
  "<rect width='32' height='32' rx='7' fill='#3451b2'/>" +
  "<path d='M10 9h12M10 16h9M10 23h12M10 9v14' stroke='white' stroke-width='3.2' stroke-linecap='round' fill='none'/>" +
  '</svg>';

export const SITE_ICON = `data:image/svg+xml,${SVG.replaceAll('#', '%23')}`;
