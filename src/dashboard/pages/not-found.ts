import { html, type Html } from '../html.ts';

/** The page for a path the dashboard does not have (served by the coordinator's notFound, outside any session). */
export const notFoundPage = (): Html => html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not found · crabbox</title></head>
<body><h1>Not found</h1><p>There is no page here. <a href="/">Go to your boxes</a>.</p></body></html>`;
