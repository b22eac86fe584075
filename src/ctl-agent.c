/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "ctl.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"

static pid_t agent_pid = 0;

/* In the child: the agent prompts on the terminal even if our output goes
 * elsewhere, keeps only the notify fd across the exec, and dies with us. */
_noreturn_ static void agent_exec(pid_t parent, int wfd) {
        char fdstr[16];
        int tty;

        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        if (!isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO)) {
                tty = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (tty >= 0 && tty != wfd) {
                        if (!isatty(STDOUT_FILENO) && wfd != STDOUT_FILENO)
                                (void) dup2(tty, STDOUT_FILENO);
                        if (!isatty(STDERR_FILENO) && wfd != STDERR_FILENO)
                                (void) dup2(tty, STDERR_FILENO);
                }
        }
        if (fcntl(wfd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
        snprintf(fdstr, sizeof fdstr, "%i", wfd);
        execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fdstr, "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

/* Returns once the agent has registered (it closes the notify fd) or died. */
int polkit_agent_open(void) {
        _cleanup_close_ int rfd = -1, wfd = -1;
        int fds[2];
        pid_t parent, pid;

        if (agent_pid > 0)
                return 0;
        /* polkit does not ask root; and without a terminal there is nobody to ask. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(PKTTYAGENT, X_OK) < 0)
                return 0;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create pipe: %m");
        rfd = fds[0];
        wfd = fds[1];

        parent = getpid();
        pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork polkit agent: %m");
        if (pid == 0)
                agent_exec(parent, wfd);

        agent_pid = pid;
        /* Ours closed, the agent's end alone keeps the pipe open. */
        close(TAKE_FD(wfd));

        for (;;) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };

                if (poll(&p, 1, -1) >= 0 || errno != EINTR)
                        break;
        }
        return 0;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;

        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
