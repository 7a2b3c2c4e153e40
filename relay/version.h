/*
 * version: the relay's version, reported by --version, /v1/health and the
 * start-up log line.
 */
#ifndef HL_RELAY_VERSION_H
#define HL_RELAY_VERSION_H

#define HL_RELAY_VERSION "0.1.0"

#endif
