#include "client/passphrase.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Reads one line from fd into buf (cap bytes, NUL-terminated) without
 * stdio, so no copy lingers in a FILE buffer. */
static int
read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n + 1 >= cap)
			return HL_ETOOBIG;
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int
from_file(const char *path, char *buf, size_t *len, char *cause)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0)
		fprintf(stderr, "hotline: warning: passphrase file %s is readable "
		    "by others (chmod 600 it)\n", path);
	int rc = read_line(fd, buf, HL_PASSPHRASE_MAX, len);
	close(fd);
	if (rc != 0)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s: line too long",
		    path);
	if (*len == 0)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s is empty", path);
	return 0;
}

static int
prompt_tty(int fd, const char *prompt, char *buf, size_t *len)
{
	struct termios old, quiet;
	int have_termios = tcgetattr(fd, &old) == 0;
	if (write(fd, prompt, strlen(prompt)) < 0)
		return HL_EIO;
	if (have_termios) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	int rc = read_line(fd, buf, HL_PASSPHRASE_MAX, len);
	if (have_termios)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = rc ? rc : HL_EIO;
	return rc;
}

static int
from_tty(const char *prompt, int confirm, char *buf, size_t *len, char *cause)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hl_fail(cause, HL_EPASSPHRASE,
		    "no terminal to ask for the passphrase: use --passphrase-file "
		    "or HOTLINE_PASSPHRASE_FILE");
	int rc = prompt_tty(fd, prompt, buf, len);
	if (rc == 0 && confirm) {
		char *again = sodium_malloc(HL_PASSPHRASE_MAX);
		size_t alen = 0;
		if (again == NULL)
			rc = HL_ENOMEM;
		else
			rc = prompt_tty(fd, "Repeat the passphrase: ", again, &alen);
		if (rc == 0 && (alen != *len || sodium_memcmp(again, buf, alen) != 0))
			rc = hl_fail(cause, HL_EPASSPHRASE, "the passphrases differ");
		if (again != NULL)
			sodium_free(again);
	}
	close(fd);
	if (rc == HL_ETOOBIG)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase too long");
	if (rc != 0 && rc != HL_EPASSPHRASE)
		return hl_fail(cause, HL_EPASSPHRASE, "cannot read the passphrase");
	return rc;
}

int
hl_passphrase_read(const char *file, const char *prompt, int confirm,
    char **out, size_t *len, char *cause)
{
	*out = NULL;
	*len = 0;
	if (sodium_init() < 0)
		return HL_ECRYPTO;
	char *buf = sodium_malloc(HL_PASSPHRASE_MAX);
	if (buf == NULL)
		return HL_ENOMEM;
	int rc = file != NULL ? from_file(file, buf, len, cause) :
	    from_tty(prompt, confirm, buf, len, cause);
	if (rc != 0) {
		sodium_free(buf);
		*len = 0;
		return rc;
	}
	*out = buf;
	return 0;
}

void
hl_passphrase_free(char *p)
{
	if (p != NULL)
		sodium_free(p);
}
