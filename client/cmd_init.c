/* hotline init: a new profile (database and vault) under a new passphrase. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/out.h"
#include "client/passphrase.h"
#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p, owner-only for what it creates. */
static int
make_dirs(const char *path)
{
	char buf[512];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return errno;
	return 0;
}

int
hl_cmd_init(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "kdf", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX] = "";
	struct stat st;
	int opt;

	hl_kdf_params_default(&kdf);
	const char *kdf_name = "moderate";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("init");
		if (opt == 'k') {
			kdf_name = optarg;
			if (strcmp(optarg, "moderate") == 0) {
				hl_kdf_params_default(&kdf);
			} else if (strcmp(optarg, "sensitive") == 0) {
				kdf.opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
				kdf.memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
			} else if (strcmp(optarg, "interactive") == 0) {
				kdf.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
				kdf.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
			} else {
				return hl_cli_usage_error("init",
				    "--kdf: expected moderate, sensitive or interactive");
			}
			continue;
		}
		return hl_cli_usage_error("init", "unknown option '%s'",
		    argv[optind - 1]);
	}
	if (optind < argc)
		return hl_cli_usage_error("init", "unexpected argument '%s'",
		    argv[optind]);
	if (stat(cli->db_path, &st) == 0)
		return hl_cli_fail(HL_EEXIST, "init",
		    "a profile exists already here (choose another --home or HOTLINE_HOME)");
	int err = make_dirs(cli->home);
	if (err != 0)
		return hl_cli_fail(HL_EIO, cli->home, strerror(err));

	char *pass;
	size_t len;
	int rc = hl_passphrase_read(cli->passphrase_file, "New passphrase: ", 1,
	    &pass, &len, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "passphrase", cause);
	if (len < HL_PASSPHRASE_MIN) {
		hl_passphrase_free(pass);
		return hl_cli_fail(HL_EPASSPHRASE, "passphrase",
		    "too short: at least 8 characters");
	}
	rc = hl_crypto_create(cli->db_path, pass, len, &kdf, &cli->crypto, cause);
	hl_passphrase_free(pass);
	if (rc == 0)
		rc = hl_store_init(cli->crypto, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "init", cause);
	if (cli->json) {
		json_t *o = hl_out_json_object("init");
		json_object_set_new(o, "home", json_string(cli->home));
		json_object_set_new(o, "kdf", json_string(kdf_name));
		json_object_set_new(o, "opslimit", json_integer((json_int_t)kdf.opslimit));
		json_object_set_new(o, "memlimit", json_integer((json_int_t)kdf.memlimit));
		hl_out_json_line(o);
	} else {
		printf("profile created in %s (Argon2id %s: %llu passes, %zu MiB)\n"
		    "next: hotline register --relay URL --handle HANDLE (it asks for the code)\n",
		    cli->home, kdf_name, (unsigned long long)kdf.opslimit,
		    kdf.memlimit >> 20);
	}
	return HL_EXIT_OK;
}
