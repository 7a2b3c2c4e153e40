/*
 * zone: whether an IANA time-zone name is one this system knows, before it
 * is published in the directory (a misspelt zone would show every contact
 * UTC labelled as the officer's local time).
 */
#ifndef HL_ZONE_H
#define HL_ZONE_H

/* 0 when zone is empty (no zone given) or names a zone in the system's
 * zoneinfo ($TZDIR, else /usr/share/zoneinfo); else HL_EUSAGE with why
 * in cause. */
int hl_zone_check(const char *zone, char *cause);

#endif
