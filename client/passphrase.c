#include "client/passphrase.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The terminal being prompted on, for the signal handler: it puts echo
 * back before anything else happens to the process. */
static volatile sig_atomic_t prompt_signal;
static int prompt_fd = -1;
static struct termios prompt_old, prompt_quiet;
static volatile sig_atomic_t prompt_have_termios;

/* Reads one line from fd into buf (cap bytes, NUL-terminated) without
 * stdio, so no copy lingers in a FILE buffer. HL_EINTR when a prompt
 * signal arrived. */
static int
read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		char ch;
		if (prompt_signal)
			return HL_EINTR;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return HL_EIO;
		if (r == 0 || ch == '\n')
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

/* Like ssh with private keys: a secret file others can read, write or
 * replace is refused, and a symlink is not followed (it could point the
 * client at a file of another's choosing). Opened non-blocking so a FIFO
 * or a device cannot hold the client (it is refused once examined);
 * blocking again for the read. *fd on success; NULL, or why it is
 * refused. */
static const char *
open_private(const char *path, int *fd)
{
	struct stat st;
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	    O_NONBLOCK);
	if (*fd < 0)
		return errno == ELOOP ? "is a symbolic link (name the file itself)" :
		    strerror(errno);
	const char *bad = NULL;
	int fl;
	if (fstat(*fd, &st) != 0)
		bad = "cannot be examined";
	else if (!S_ISREG(st.st_mode))
		bad = "is not a regular file";
	else if (st.st_uid != geteuid())
		bad = "is not owned by you";
	else if ((st.st_mode & 0077) != 0)
		bad = "is accessible by group or others (chmod 600 it)";
	else if ((fl = fcntl(*fd, F_GETFL)) < 0 ||
	    fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		bad = "cannot be read";
	if (bad != NULL) {
		close(*fd);
		*fd = -1;
	}
	return bad;
}

static int
from_file(const char *path, char *buf, size_t *len, char *cause)
{
	int fd;
	const char *bad = open_private(path, &fd);
	if (bad != NULL)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s: %s",
		    path, bad);
	int rc = read_line(fd, buf, HL_PASSPHRASE_MAX, len);
	close(fd);
	if (rc != 0)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s: %s", path,
		    rc == HL_ETOOBIG ? "line too long" : "cannot be read");
	if (*len == 0)
		return hl_fail(cause, HL_EPASSPHRASE, "passphrase file %s is empty", path);
	return 0;
}

static void
on_prompt_signal(int sig)
{
	int saved = errno;
	if (prompt_have_termios)
		tcsetattr(prompt_fd, TCSANOW, &prompt_old);
	if (sig == SIGTSTP) {
		/* Stop with echo on, as the shell expects; quiet again when
		 * continued (SIGSTOP cannot be caught, so this returns only
		 * then). */
		kill(getpid(), SIGSTOP);
		if (prompt_have_termios)
			tcsetattr(prompt_fd, TCSANOW, &prompt_quiet);
	} else {
		prompt_signal = sig;
	}
	errno = saved;
}

static int
prompt_tty(int fd, const char *prompt, char *buf, size_t *len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGTSTP };
	struct sigaction sa, old[3];
	sigset_t block, prev;

	/* The handler must find the saved state complete: signals wait until
	 * it is. */
	sigemptyset(&block);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &prev);
	prompt_signal = 0;
	prompt_fd = fd;
	prompt_have_termios = tcgetattr(fd, &prompt_old) == 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_prompt_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;    /* no SA_RESTART: read() returns EINTR */
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	int rc = 0;
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = HL_EIO;
	if (rc == 0 && prompt_have_termios) {
		prompt_quiet = prompt_old;
		prompt_quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &prompt_quiet);
	}
	sigprocmask(SIG_SETMASK, &prev, NULL);
	if (rc == 0)
		rc = read_line(fd, buf, HL_PASSPHRASE_MAX, len);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (prompt_have_termios)
		tcsetattr(fd, TCSAFLUSH, &prompt_old);
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (prompt_signal)
		rc = HL_EINTR;
	prompt_have_termios = 0;
	prompt_fd = -1;
	sigprocmask(SIG_SETMASK, &prev, NULL);
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
	if (rc == HL_EINTR)
		return hl_fail(cause, HL_EINTR, "interrupted at the prompt");
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

int
hl_secret_read(const char *file, const char *prompt, char **out, size_t *len,
    char *cause)
{
	*out = NULL;
	*len = 0;
	if (sodium_init() < 0)
		return HL_ECRYPTO;
	const char *what = file == NULL ? "the terminal" :
	    strcmp(file, "-") == 0 ? "standard input" : file;
	int fd = -1;
	if (file == NULL)
		fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	else if (strcmp(file, "-") == 0)
		fd = 0;
	else {
		/* The same rule as for a passphrase file. */
		const char *bad = open_private(file, &fd);
		if (bad != NULL)
			return hl_fail(cause, HL_EIO, "%s: %s", file, bad);
	}
	if (fd < 0)
		return hl_fail(cause, HL_EIO, "%s: no terminal to ask on", what);
	char *buf = sodium_malloc(HL_PASSPHRASE_MAX);
	int rc = buf == NULL ? HL_ENOMEM : file == NULL ?
	    prompt_tty(fd, prompt, buf, len) :
	    read_line(fd, buf, HL_PASSPHRASE_MAX, len);
	if (fd != 0)
		close(fd);
	if (rc == 0 && *len == 0)
		rc = hl_fail(cause, HL_EIO, "nothing read from %s", what);
	else if (rc == HL_EINTR)
		hl_fail(cause, rc, "interrupted at the prompt");
	else if (rc == HL_ETOOBIG)
		rc = hl_fail(cause, HL_EIO, "%s: line too long", what);
	else if (rc == HL_EIO)
		hl_fail(cause, rc, "%s cannot be read", what);
	if (rc != 0) {
		if (buf != NULL)
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
