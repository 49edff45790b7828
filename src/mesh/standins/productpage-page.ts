/**
 * The HTML productpage renders, reduced to what callers look at: the book,
 * its details table or "Error fetching product details", the reviews with
 * star glyphs coloured `text-<color>-500` (filled for the stars given, outlined
 * for the rest of five) or "Error fetching product reviews", and under each
 * review "Reviews served by:" and the reviews pod's name (plus "on cluster"
 * when reviews reports one). Values are HTML-escaped as Jinja autoescape does.
 */
import type { Product } from './productpage.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;');
}

/** A backend's outcome as the page template sees it: status and decoded JSON. */
export interface Fetched {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const FILLED_STAR =
  '<svg class="h-5 w-5 flex-none star-filled" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true"><path d="M10 1l2.6 6.1 6.4.5-4.9 4.2 1.5 6.5L10 14.8 4.4 18.3l1.5-6.5L1 7.6l6.4-.5z"/></svg>';
const EMPTY_STAR =
  '<svg class="h-5 w-5 flex-none star-empty" viewBox="0 0 20 20" fill="none" stroke="currentColor" aria-hidden="true"><path d="M10 1l2.6 6.1 6.4.5-4.9 4.2 1.5 6.5L10 14.8 4.4 18.3l1.5-6.5L1 7.6l6.4-.5z"/></svg>';

function userBar(user: string): string {
  if (user !== '') {
    return `<div class="user"><p>${escapeHtml(user)}</p><a href="logout">Sign out</a></div>`;
  }
  return [
    '<button type="button" id="sign-in-button">Sign in</button>',
    '<dialog id="dialog"><form method="post" action="login" name="login_form">',
    '<label for="username">Username</label><input id="username" name="username" required>',
    '<label for="password">Password</label><input id="password" name="passwd" type="password" required>',
    '<button type="submit">Sign in</button></form></dialog>',
  ].join('\n');
}

function detailsSection(details: Fetched): string {
  if (details.status !== 200) {
    const why =
      details.body['error'] === undefined
        ? ''
        : `\n<p class="text-lg text-gray-600">${escapeHtml(details.body['error'])}</p>`;
    return `<p class="text-2xl text-red-500">Error fetching product details</p>${why}`;
  }
  const d = details.body;
  return [
    '<h4 class="text-3xl font-semibold">Book Details</h4>',
    '<table><thead><tr><th>ISBN-10</th><th>Publisher</th><th>Pages</th><th>Type</th><th>Language</th></tr></thead>',
    `<tbody><tr><td>${escapeHtml(d['ISBN-10'])}</td><td>${escapeHtml(d['publisher'])}</td><td>${escapeHtml(d['pages'])}</td><td>${escapeHtml(d['type'])}</td><td>${escapeHtml(d['language'])}</td></tr></tbody></table>`,
  ].join('\n');
}

function ratingHtml(rating: unknown): string {
  if (typeof rating !== 'object' || rating === null) return '';
  const r = rating as Record<string, unknown>;
  const stars = typeof r['stars'] === 'number' ? Math.max(0, Math.min(5, Math.trunc(r['stars']))) : 0;
  if (stars > 0) {
    return `<div class="flex gap-x-1 text-${escapeHtml(r['color'])}-500">${FILLED_STAR.repeat(stars)}${EMPTY_STAR.repeat(5 - stars)}</div>`;
  }
  if (r['error'] !== undefined && r['error'] !== '')
    return `<p class="text-red-500">${escapeHtml(r['error'])}</p>`;
  return '';
}

function reviewsSection(reviews: Fetched): string {
  if (reviews.status !== 200) {
    const why =
      reviews.body['error'] === undefined
        ? ''
        : `\n<p class="text-lg text-gray-600">${escapeHtml(reviews.body['error'])}</p>`;
    return `<p class="text-2xl text-red-500">Error fetching product reviews</p>${why}`;
  }
  const list = Array.isArray(reviews.body['reviews']) ? (reviews.body['reviews'] as unknown[]) : [];
  const cluster = reviews.body['clustername'];
  const onCluster = cluster !== 'null' ? ` on cluster <div>${escapeHtml(cluster)}</div>` : '';
  const items = list.map((item) => {
    const review = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    return [
      '<section class="review">',
      ratingHtml(review['rating']),
      `<blockquote><p>"${escapeHtml(review['text'])}"</p></blockquote>`,
      `<div class="font-semibold text-gray-900">${escapeHtml(review['reviewer'])}</div>`,
      `<div class="mt-0.5 text-gray-600 font-mono">Reviews served by: ${escapeHtml(reviews.body['podname'])}${onCluster}</div>`,
      '</section>',
    ].join('\n');
  });
  return ['<h4 class="text-3xl font-semibold">Book Reviews</h4>', ...items].join('\n');
}

export function productPageHtml(product: Product, details: Fetched, reviews: Fetched, user: string): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>Simple Bookstore App</title></head><body>',
    `<nav><a href="#">BookInfo Sample</a>${userBar(user)}</nav>`,
    `<h1 class="text-5xl font-bold">${escapeHtml(product.title)}</h1>`,
    // The description is trusted HTML (the real template renders it unescaped).
    `<p class="description">${product.descriptionHtml}</p>`,
    `<div class="details">${detailsSection(details)}</div>`,
    `<div class="reviews">${reviewsSection(reviews)}</div>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** The index: the service tree productpage calls, and the two users' links. */
export function indexHtml(tree: unknown): string {
  const table = (value: unknown): string => {
    if (Array.isArray(value)) return `<ul>${value.map((v) => `<li>${table(v)}</li>`).join('')}</ul>`;
    if (typeof value === 'object' && value !== null) {
      const rows = Object.entries(value).map(
        ([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${table(v)}</td></tr>`,
      );
      return `<table class="table table-condensed table-bordered table-hover">${rows.join('')}</table>`;
    }
    return escapeHtml(value);
  };
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>Simple Bookstore App</title></head><body>',
    '<h3>Simple Bookstore App</h3>',
    '<p>The services the product page calls:</p>',
    table(tree),
    '<p><a href="/productpage?u=normal">Normal user</a> <a href="/productpage?u=test">Test user</a></p>',
    '</body></html>',
    '',
  ].join('\n');
}
