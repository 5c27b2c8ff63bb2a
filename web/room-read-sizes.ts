/**
 * Messages the room's first read of a session holds (its newest turns: a few screens, little to read and check before
 * the room is drawn), and each older page it reads as the person scrolls up. Imports nothing: the page's first module
 * reads it before the rest of its code (and zod) is evaluated.
 */
export const ROOM_FIRST_MESSAGES = 50;
export const ROOM_OLDER_MESSAGES = 100;
