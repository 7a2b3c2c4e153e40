/*
 * hl_testvfs: an SQLite VFS for the power-loss test, registered (not as
 * the default) under the name "hl_testvfs" and wrapping "unix".
 *
 * Writes to main databases, WALs and journals do not reach the file until
 * that file is synced: until then they live in memory and reads see them
 * on top of the file. A sync writes them through (it does not call
 * fsync(): the file on disk is the simulated disk, so it holds exactly
 * what was synced). A power cut drops every write not yet synced, and
 * from then on every write, sync, truncate and delete of the files open
 * at the cut fails, so nothing later reaches the disk either; the test
 * then closes its connections and reopens the files, as after a reboot.
 * Deletes before a cut happen at once (a delete is treated as durable).
 *
 * Use through hl_db_test_hook("hl_testvfs", ...). Thread-safe: one lock
 * guards every tracked operation.
 */
#ifndef HL_TESTVFS_H
#define HL_TESTVFS_H

/* Registers the VFS once. 0 or -1. */
int hl_testvfs_register(void);

/* Cuts the power at the n-th tracked write or sync from now (n >= 1);
 * 0 disarms. */
void hl_testvfs_arm(long n);

/* 1 once the armed cut has happened. */
int hl_testvfs_cut_done(void);

/* Cuts now. */
void hl_testvfs_cut(void);

/* Power back: files opened from now on work again. */
void hl_testvfs_power_on(void);

/* Totals since registration. */
struct hl_testvfs_stats {
	long writes, syncs, cuts;
	long dropped_writes;     /* writes lost at cuts */
};
void hl_testvfs_stats(struct hl_testvfs_stats *out);

#endif
