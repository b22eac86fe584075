/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_ID= of every kind of journal entry the daemon writes. These are
 * ABI: administrators filter on them and the catalog explains them. Never
 * reuse or change one. */

#define FL_MESSAGE_FILELESS_EXEC "44f1fd78380e403f9427638d2ffb0464"
#define FL_MESSAGE_STARTED "1bd6ad36d98a429187ad58b0c1fca7bb"
#define FL_MESSAGE_PROFILE_CHANGED "2a177f4778444548bebf1b418e405416"
#define FL_MESSAGE_EVENTS_LOST "f69bbd6bccea42e780f4439bcfc9bd02"
#define FL_MESSAGE_STOPPED "3f797468fd3a4b73b93cccb3c3e32ce6"
#define FL_MESSAGE_EVENTS_SUPPRESSED "3b1b80d02ca14682995a132943f425b5"
#define FL_MESSAGE_SEALED "21663a15678e4705ac17c4c79d908380"
#define FL_MESSAGE_TAMPER "2a10b328b4784fe0abb19f406c159c52"
