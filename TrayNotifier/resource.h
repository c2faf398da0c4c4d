/*
 * resource.h - resource ids shared by TrayNotifier.rc and the C sources.
 * Plain #defines only: windres and rc.exe read this file too.
 */
#ifndef TRAY_RESOURCE_H
#define TRAY_RESOURCE_H

/* Icons. IDI_APP is the first icon resource, so Explorer uses it for the exe. */
#define IDI_APP 101
#define IDI_LEVEL_INFO 102
#define IDI_LEVEL_WARNING 103
#define IDI_LEVEL_ERROR 104

/* The tray icon's context menu. */
#define IDR_TRAYMENU 201
#define IDM_HISTORY 202
#define IDM_PAUSE 203
#define IDM_OPEN_FOLDER 204
#define IDM_ABOUT 205
#define IDM_EXIT 206
#define IDM_ALL_IN_WINDOW 207   /* "Show all notifications in the Pipes window" */
#define IDM_MUTED 208           /* the "Muted sources" submenu */
#define IDM_NO_MUTES 209
#define IDM_UNMUTE_FIRST 220    /* + index of the muted source (TRAY_MUTE_MAX of them) */
#define IDM_MUTE_HOUR 260       /* history window context menu */
#define IDM_MUTE_FOREVER 261

/* History window controls. */
#define IDC_HISTORY_LIST 301
#define IDC_HISTORY_COPY 302
#define IDC_HISTORY_CLOSE 303
#define IDA_HISTORY 304 /* accelerators of the history window */
#define IDC_HISTORY_SELECT_ALL 305 /* Ctrl+A */

/* Pipes notification window (popup.c). */
#define IDC_POPUP_ICON 401
#define IDC_POPUP_TITLE 402
#define IDC_POPUP_META 403
#define IDC_POPUP_BODY 404
#define IDC_POPUP_PROGRESS 405
#define IDC_POPUP_STATUS 406
#define IDC_POPUP_OPEN 407
#define IDC_POPUP_CLOSE 408
#define IDC_POPUP_MORE 409
#define IDC_POPUP_ACTION0 410   /* .. + PIPES_PROTO_MAX_ACTIONS - 1 */

/* Strings. */
#define IDS_APP_TITLE 1001
#define IDS_TIP_UNREAD 1002       /* %1!u! = unread count */
#define IDS_TIP_PAUSED 1003       /* %1!u! = unread count */
#define IDS_MORE 1004             /* %1!u! = how many more */
#define IDS_PAUSED_TITLE 1005     /* %1!u! = how many arrived while paused */
#define IDS_PAUSED_LATEST 1006    /* %1 = the latest title */
#define IDS_ABOUT 1007            /* %1 = app version, %2 = pipes.dll version, %3 = pipe, %4 = data folder */
#define IDS_USAGE 1008
#define IDS_ERR_START 1009        /* %1 = pipe name, %2 = reason */
#define IDS_ERR_USAGE 1010        /* %1 = the bad argument */
#define IDS_HISTORY_TITLE 1011
#define IDS_COL_TIME 1012
#define IDS_COL_LEVEL 1013
#define IDS_COL_SOURCE 1014
#define IDS_COL_TITLE 1015
#define IDS_COL_BODY 1016
#define IDS_LEVEL_INFO 1017
#define IDS_LEVEL_WARNING 1018
#define IDS_LEVEL_ERROR 1019
#define IDS_COPY 1020
#define IDS_CLOSE 1021
#define IDS_ERR_HISTORY 1022      /* %1 = file kept aside */
#define IDS_ERR_WINDOW 1023
#define IDS_HOLDER 1024           /* %1!u! = process id, %2 = its image file name */
#define IDS_HOLDER_UNKNOWN 1025
#define IDS_TIP_HELD 1026         /* %1 = IDS_HOLDER text */
#define IDS_HELD_TITLE 1027
#define IDS_HELD_TEXT 1028        /* %1 = pipe name, %2 = IDS_HOLDER text */
#define IDS_TAKEN_TEXT 1029       /* %1 = pipe name */
#define IDS_POPUP_CLOSE 1030
#define IDS_POPUP_OPEN 1031       /* %1 = the link's host */
#define IDS_POPUP_MORE 1032       /* %1!u! = how many more */
#define IDS_FROM_USER 1033        /* %1 = account */
#define IDS_FROM_SYSTEM 1034      /* %1 = account */
#define IDS_FROM_SERVICE 1035     /* %1 = account */
#define IDS_FROM_BROKER 1036      /* %1 = account, %2 = origin */
#define IDS_FROM_DIRECT 1037      /* %1 = account: a program that talked to the tray itself */
#define IDS_FROM_UNKNOWN 1038
#define IDS_META 1039             /* %1 = source, %2 = from text */
#define IDS_COL_FROM 1040
#define IDS_COL_ANSWER 1041
#define IDS_COL_STATE 1042
#define IDS_ANSWER_DISMISSED 1043
#define IDS_ANSWER_TIMEOUT 1044
#define IDS_ANSWER_ELSEWHERE 1045 /* %1 = the answer, %2 = who, %3!u! = session */
#define IDS_ANSWER_WITHDRAWN 1046
#define IDS_STATE_CURRENT 1047
#define IDS_STATE_REPLACED 1048
#define IDS_STATE_CLEARED 1049
#define IDS_STATE_WITHDRAWN 1050
#define IDS_MUTE_HOUR 1051        /* %1 = source */
#define IDS_MUTE_FOREVER 1052     /* %1 = source */
#define IDS_UNMUTE 1053           /* %1 = source, %2 = until when */
#define IDS_UNTIL_UNMUTED 1054
#define IDS_NO_MUTES 1055
#define IDS_CLEARED_TITLE 1056    /* %1 = tag */
#define IDS_POPUP_CLASS_NAME 1057

#endif /* TRAY_RESOURCE_H */
