"""Fill the Hebrew catalog for strings we know (run after makemessages; keeps existing ones)."""

import re
import sys
from pathlib import Path

HE = {
    "Re-dispatch selected events": "שליחה מחדש של האירועים שנבחרו",
    "%(count)d event(s) re-dispatched.": "%(count)d אירועים נשלחו מחדש.",
    "Entities": "ישויות", "Scheduled": "מתוכננת", "Completed": "הושלמה", "Cancelled": "בוטל",
    "title": "כותרת", "description": "תיאור", "start time": "שעת התחלה", "end time": "שעת סיום",
    "location": "מיקום", "attendees": "משתתפים", "meeting": "פגישה", "meetings": "פגישות",
    "To do": "לביצוע", "In progress": "בתהליך", "Done": "בוצע", "Low": "נמוכה", "Medium": "בינונית",
    "High": "גבוהה", "due date": "תאריך יעד", "task": "משימה", "tasks": "משימות", "Draft": "טיוטה",
    "Final": "סופי", "Archived": "בארכיון", "name": "שם", "document": "מסמך", "documents": "מסמכים",
    "Lead": "ליד", "Active": "פעיל", "Inactive": "לא פעיל", "client": "לקוח", "clients": "לקוחות",
    "supplier": "ספק", "suppliers": "ספקים", "Pending": "ממתין", "Paid": "שולם", "Overdue": "באיחור",
    "Refunded": "הוחזר", "payment": "תשלום", "payments": "תשלומים", "Approved": "אושר", "Rejected": "נדחה",
    "expense": "הוצאה", "expenses": "הוצאות", "entity event": "אירוע ישות", "entity events": "אירועי ישויות",
    "Integrations": "אינטגרציות", "Disconnected": "לא מחובר", "Connected": "מחובר", "Error": "שגיאה",
    "Expired": "פג תוקף", "Success": "הצליח", "Partial": "הצליח חלקית", "Failed": "נכשל",
    "integration": "אינטגרציה", "integrations": "אינטגרציות", "integration log": "יומן סנכרון",
    "integration logs": "היסטוריית סנכרון", "provider app": "אפליקציית ספק", "provider apps": "אפליקציות ספקים",
    "OAuth state": "מצב OAuth", "OAuth states": "מצבי OAuth", "Revoke selected tokens": "ביטול הטוקנים שנבחרו",
    "%(count)d token(s) revoked.": "%(count)d טוקנים בוטלו.", "Tenants and users": "סטודיואים ומשתמשים",
    "email address": "כתובת דוא\"ל", "user": "משתמש", "users": "משתמשים", "tenant": "סטודיו",
    "tenants": "סטודיואים", "Owner": "בעלים", "Admin": "מנהל", "Member": "חבר", "membership": "חברות",
    "memberships": "חברויות", "API token": "טוקן API", "API tokens": "טוקני API", "Webhooks": "Webhooks",
    "incoming webhook": "webhook נכנס", "incoming webhooks": "webhooks נכנסים",
    "outgoing webhook": "webhook יוצא", "outgoing webhooks": "webhooks יוצאים",
    "webhook log": "יומן webhook", "webhook logs": "היסטוריית webhooks",
    "automation run": "הרצת אוטומציה", "automation runs": "הרצות אוטומציה",
    "incoming delivery id": "מזהה משלוח נכנס", "incoming delivery ids": "מזהי משלוחים נכנסים",
    "Space-separated; empty = catalog defaults.": "מופרדים ברווח; ריק = ברירת המחדל של הקטלוג.",
}


def main(path: str) -> None:
    po = Path(path)
    text = po.read_text()

    def fill(match: re.Match) -> str:
        msgid = match.group(1)
        if msgid in HE and match.group(2) == "":
            return f'msgid "{msgid}"\nmsgstr "{HE[msgid].replace(chr(34), chr(92) + chr(34))}"'
        return match.group(0)

    text = re.sub(r'msgid "((?:[^"\\]|\\.)*)"\nmsgstr "((?:[^"\\]|\\.)*)"', fill, text)
    text = text.replace('"Plural-Forms: nplurals=4; plural=', '"Plural-Forms: nplurals=4; plural=')
    po.write_text(text.replace("#, fuzzy\n", "", 1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "locale/he/LC_MESSAGES/django.po")
