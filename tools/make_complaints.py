#!/usr/bin/env python3
"""Synthesizes a bilingual (zh, en) corpus of customer-complaint conversations.

    python3 tools/make_complaints.py --train-out DIR/train.jsonl [--train 40000] \\
        --heldout-out sample-data/complaints.jsonl [--heldout 1000] [--seed 20251125]
    python3 tools/make_complaints.py --pairs-out FILE [--pairs 400]

Each output line is one ComplaintEvent in the job's JSON form (see JsonEvents.java) plus three
reference fields the job ignores: reference_demands, reference_urgency, reference_sentiment.
reference_reply and reference_category are part of the event schema. The references are what
a small model is trained to produce and what its replies are scored against (bge-small cosine).

Why the design looks the way it does:
  * The reply's content is a function of the dialog: the sub-issue, the remedy the customer asks
    for, the ids/amounts/products they mention, urgency cues and tone. Its wording is drawn
    from paraphrase pools slot by slot, so two draws for one dialog differ in words but not in
    meaning. --pairs-out writes two independent draws per dialog to measure that ceiling.
  * Labels are computed from what was actually written into the dialog (the pieces are
    tracked while the dialog is assembled), never from hidden state the model cannot see.
    The job's prompt shows only language, channel and turns, so attributes never feed labels.
  * Train, held-out and pairs use separate random streams of one seed, so the files do not
    share dialogs beyond chance collisions of very short ones, and reruns are byte-identical.

Standard library only. A summary (counts per language, category, urgency and sentiment, average
turns and reply length) goes to stderr.
"""

import argparse
import collections
import datetime as dt
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

DEFAULT_SEED = 20251125

# The reply schema's enums (schemas/src/main/resources/reply.schema.json).
CATEGORIES = ["billing", "delivery", "product_quality", "service_attitude", "account_login",
              "refund", "network_outage", "insurance_claim", "travel_hotel", "other"]
URGENCIES = ["low", "medium", "high", "critical"]
SENTIMENTS = ["angry", "frustrated", "neutral", "anxious", "satisfied"]
LOW, MEDIUM, HIGH, CRITICAL = range(4)
LANGS = ("en", "zh")

# --- template filling --------------------------------------------------------------------
#
# Templates use {name} slots and [optional|fallback] segments: an optional segment is kept
# only when every slot inside it has a value, otherwise its fallback (possibly empty) is used.
# That lets one reply template serve dialogs with and without an amount, product or id, and
# lets the dialog side record exactly which details the customer actually mentioned.

_SLOT = re.compile(r"\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def fill(template: str, values: Dict[str, str], used: Optional[set] = None) -> str:
    """Fills slots; `used` collects the names of the slots that ended up in the text."""
    def optional(m):
        main, _, fallback = m.group(1).partition("|")
        return main if all(values.get(n) for n in _SLOT.findall(main)) else fallback

    def slot(m):
        if used is not None:
            used.add(m.group(1))
        return values[m.group(1)]

    return _SLOT.sub(slot, _OPTIONAL.sub(optional, template))


def L(en, zh):
    """One text (or pool of texts) per language."""
    return {"en": en, "zh": zh}


# --- catalog types -----------------------------------------------------------------------

@dataclass(frozen=True)
class Fix:
    """One remedy a customer can ask for, and how the company answers it.

    demand: the canonical demand phrase (reference label); ask: how customers phrase it;
    act: what we will do and by when (reply slot); step: the one next step (reply slot),
    defaulting to the issue's."""
    demand: dict
    ask: dict
    act: dict
    step: Optional[dict] = None


@dataclass(frozen=True)
class Safety:
    """A safety or health risk a customer may add; it makes the case critical and replaces
    the reply's next step with safety advice."""
    say: dict
    step: dict


@dataclass(frozen=True)
class Issue:
    """A specific sub-issue of a category, with its customer phrasings and remedies."""
    category: str
    key: str
    base: int                       # urgency before any cue in the dialog
    say: dict                       # how customers describe the problem
    concern: dict                   # noun phrases the reply greets the customer by
    detail: dict                    # extra context customers add
    fixes: Tuple[Fix, ...]
    step: Optional[dict] = None     # default next step for fixes without their own
    id_kind: Optional[str] = None   # kind of reference number customers quote
    amount: bool = False            # whether {amt} in the reply means something
    products: Optional[dict] = None
    plans: Optional[dict] = None
    safety: Optional[Safety] = None


# --- reference numbers -------------------------------------------------------------------
#
# How customers write a reference (several formats per kind) and how the reply quotes it
# (one canonical label, so the model only has to copy the id itself).

ID_KINDS = {
    "order": dict(
        attr="order_id",
        say=L(["order #{id}", "order no. {id}", "order number {id}", "order {id}", "#{id}"],
              ["订单号{id}", "订单号：{id}", "订单号 {id}", "单号{id}", "order number {id}"]),
        ask=L("order number", "订单号"), label=L("order", "订单号")),
    "invoice": dict(
        attr="invoice_id",
        say=L(["invoice {id}", "invoice no. {id}", "bill number {id}"],
              ["账单号{id}", "发票号码{id}", "账单编号：{id}"]),
        ask=L("invoice or bill number", "账单号"), label=L("invoice", "账单号")),
    "ticket": dict(
        attr="ticket_id",
        say=L(["ticket {id}", "ticket no. {id}", "case number {id}", "ref {id}"],
              ["工单号{id}", "工单{id}", "投诉单号：{id}"]),
        ask=L("ticket number", "工单号"), label=L("ticket", "工单号")),
    "claim": dict(
        attr="claim_id",
        say=L(["claim {id}", "claim no. {id}", "claim number {id}"],
              ["理赔号{id}", "报案号{id}", "案件号：{id}"]),
        ask=L("claim number", "理赔案号"), label=L("claim", "理赔案号")),
    "policy": dict(
        attr="policy_id",
        say=L(["policy number {id}", "policy {id}", "policy no. {id}"],
              ["保单号{id}", "保单号：{id}", "保单 {id}"]),
        ask=L("policy number", "保单号"), label=L("policy", "保单号")),
    "booking": dict(
        attr="booking_ref",
        say=L(["booking ref {id}", "booking reference {id}", "confirmation no. {id}",
               "booking {id}"],
              ["预订号{id}", "订单号{id}", "预订确认号：{id}"]),
        ask=L("booking reference", "预订号"), label=L("booking", "预订号")),
    "account": dict(
        attr="account_id",
        say=L(["account number {id}", "account no. {id}", "account {id}"],
              ["宽带账号{id}", "账号{id}", "户号：{id}"]),
        ask=L("account number", "宽带账号"), label=L("account", "账号")),
}

_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def make_id(kind: str, rng: random.Random, day: dt.date) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    letters = lambda n: "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))
    ymd = day.strftime("%Y%m%d")
    options = {
        "order": [lambda: letters(1) + digits(7), lambda: ymd + digits(5),
                  lambda: f"{digits(2)}-{digits(4)}-{letters(2)}"],
        "invoice": [lambda: f"INV-{day.year}-{digits(5)}", lambda: "FP" + digits(8)],
        "ticket": [lambda: "TK-" + digits(6), lambda: digits(8)],
        "claim": [lambda: f"CLM-{day.year}-{digits(6)}", lambda: "CL" + digits(8)],
        "policy": [lambda: f"PL-{digits(4)}-{digits(4)}", lambda: "P" + digits(9)],
        "booking": [lambda: "".join(rng.choice(_ALNUM) for _ in range(6)),
                    lambda: f"HB-{ymd}-{digits(2)}"],
        "account": [lambda: "88" + digits(8), lambda: "BB" + digits(7)],
    }[kind]
    return rng.choice(options)()


# --- shared pools ------------------------------------------------------------------------

CITIES = L(["Shanghai", "Beijing", "Shenzhen", "Chengdu", "Hangzhou", "London", "Manchester",
            "Singapore", "Sydney", "Toronto", "Melbourne", "Leeds"],
           ["上海", "北京", "深圳", "成都", "杭州", "武汉", "南京", "西安", "广州", "重庆", "苏州",
            "长沙"])
PINYIN_NAMES = ["Zhang Wei", "Li Na", "Wang Fang", "Liu Yang", "Chen Jie", "Zhao Lei",
                "Huang Min", "Zhou Xin", "Wu Hao", "Xu Ting", "Sun Li", "Ma Jun"]
WESTERN_NAMES = ["Anna Schmidt", "James Carter", "Priya Nair", "Tom Walsh", "Maria Lopez",
                 "David Kim", "Sarah O'Neill", "Omar Haddad", "Emily Brooks", "Lucas Martin"]
ZH_SURNAMES = ["张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"]
TIMES = L(["around 3pm", "at about 10:30 in the morning", "around lunchtime",
           "just after 6pm"],
          ["下午三点左右", "上午十点多", "中午的时候", "傍晚六点多"])
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
TIERS = ["standard", "silver", "gold", "vip"]
CHANNELS = [("chat", 30), ("email", 20), ("app", 20), ("phone", 15), ("social", 15)]

# Secondary demands any sub-issue can carry, with the reply sentence that acknowledges them.
# The acknowledgements promise a review, never the outcome, as the prompt asks.
SECONDARY = {
    "compensation": dict(
        demand=L("compensation for the trouble", "给予补偿"),
        ask=L(["I expect compensation for this.", "I want some compensation for the hassle.",
               "You should compensate me for my time."],
              ["必须给我补偿。", "要求赔偿我的损失。", "耽误我这么多时间，得给个补偿吧"]),
        ack=L(["Your compensation request has also gone for review.",
               "We have also passed on your compensation request for review.",
               "We have also logged your compensation request for review."],
              ["您的补偿要求也已提交审核。", "补偿诉求已一并提交审核。",
               "关于补偿，我们也已提交审核。"])),
    "explanation": dict(
        demand=L("explain what went wrong", "解释原因"),
        ask=L(["I want to know how this happened.", "Someone needs to explain what went wrong.",
               "Explain to me how this is even possible."],
              ["请给我一个合理的解释。", "我要知道到底是怎么回事。", "必须给个说法"]),
        ack=L(["We will also explain what went wrong.",
               "We'll also tell you what caused this.",
               "We will also let you know what went wrong."],
              ["我们也会说明问题原因。", "也会向您解释具体原因。",
               "问题原因我们也会告知您。"])),
    "supervisor": dict(
        demand=L("speak to a supervisor", "主管介入处理"),
        ask=L(["I want to speak to a supervisor.", "Put me through to a manager.",
               "Escalate this to someone senior."],
              ["我要找你们主管。", "请让你们领导来处理。", "把问题升级给上级"]),
        ack=L(["A supervisor will also review your case.",
               "I have also asked a supervisor to oversee it.",
               "Your case has also gone to a supervisor."],
              ["主管也会亲自跟进。", "也已安排主管介入。",
               "您的问题也已升级至主管处理。"])),
    "callback": dict(
        demand=L("call me back", "回电联系"),
        ask=L(["Please call me back today.", "Can someone phone me about this?",
               "I'd like a call back."],
              ["请今天给我回个电话。", "麻烦安排人给我打电话。", "希望有人回电联系我"]),
        ack=L(["We will also call you on your registered number.",
               "Someone will also phone you on the number we have.",
               "We'll also give you a call on your registered number."],
              ["我们也会致电您预留的号码。", "稍后也会有同事给您回电。",
               "我们也会按您登记的号码给您回电。"])),
    "confirmation": dict(
        demand=L("confirm in writing", "书面确认处理结果"),
        ask=L(["Please confirm in writing once it's done.", "I want written confirmation.",
               "Send me an email confirming this."],
              ["处理好请书面通知我。", "要求给我书面确认。", "处理结果请发邮件给我"]),
        ack=L(["We will also confirm the outcome in writing.",
               "You will also get the outcome in writing by email.",
               "We will also email you written confirmation."],
              ["处理结果也会书面告知您。", "完成后也会邮件书面确认。",
               "我们也会把处理结果书面发给您。"])),
}

# Cues that raise urgency by one level each; which ones fit depends on the category.
MODIFIERS = {
    "repeat": L(["This is the third time I'm contacting you about this.",
                 "I already called twice last week about this.",
                 "I've reported this {n} times already."],
                ["这已经是我第三次联系你们了。", "上周已经打过两次电话了。",
                 "同样的问题我已经反映了{n}次了。"]),
    "deadline": L(["I need this sorted before {deadline}.",
                   "It has to be done by {deadline} at the latest.",
                   "I really need this fixed before {deadline}."],
                  ["{deadline}之前必须解决。", "最晚{deadline}要处理好。",
                   "{deadline}前一定要给我弄好"]),
    "legal": L(["If this isn't fixed I'll report you to consumer protection.",
                "I'm prepared to take legal action over this.",
                "I will file a complaint with the regulator."],
               ["再不解决我就打12315投诉。", "我会找律师处理这件事。",
                "不给说法我就去消协投诉！"]),
    "business": L(["I run a small business and this is costing me money every day.",
                   "I need this for my job and I'm losing money because of it.",
                   "This is hurting my business."],
                  ["我是开店的，每耽误一天都在亏钱。", "我在家办公，这样根本没法工作。",
                   "这直接影响我做生意了。"]),
}
CATEGORY_MODIFIERS = {
    "billing": ["repeat", "deadline", "legal", "business"],
    "delivery": ["repeat", "deadline", "legal", "business"],
    "product_quality": ["repeat", "deadline", "legal"],
    "service_attitude": ["repeat", "legal"],
    "account_login": ["repeat", "deadline", "legal", "business"],
    "refund": ["repeat", "deadline", "legal"],
    "network_outage": ["repeat", "deadline", "legal", "business"],
    "insurance_claim": ["repeat", "deadline", "legal"],
    "travel_hotel": ["repeat", "deadline", "legal", "business"],
    "other": ["repeat", "deadline", "legal"],
}

# Tone lines around the complaint; the tone decides the reference sentiment.
TONE_OPEN = {
    "polite": L(["Hi,", "Hello,", "Good morning,", "Hi there,"],
                ["您好，", "你好，", "客服你好，", "亲，"]),
    "anxious": L(["Hi, please help.", "Hello, I'm really worried.", "Please help me!"],
                 ["你好，急！", "在吗？好着急啊。", "你好，麻烦帮帮我。"]),
    "frustrated": L(["Honestly.", "Ugh.", "Hi."],
                    ["唉。", "服了。", "在吗"]),
    "sarcastic": L(["Great service as always.", "Wow, well done.", "Brilliant, just brilliant."],
                   ["你们服务可真好啊。", "呵呵，真是厉害了。", "真是服了你们了。"]),
    "angry": L(["This is RIDICULOUS!", "Unbelievable!!", "I am absolutely furious."],
               ["太过分了！！", "气死我了！", "什么破服务！！！"]),
}
TONE_CLOSE = {
    "polite": L(["Thanks.", "Thank you in advance.", "Appreciate your help.",
                 "Thanks for your help."],
                ["谢谢！", "麻烦了，谢谢。", "辛苦了。", "谢谢啦"]),
    "anxious": L(["I'm getting really stressed about this.", "Please get back to me soon.",
                  "I don't know what to do."],
                 ["真的很着急，麻烦尽快回复。", "我真的很担心。", "怎么办啊。。。"]),
    "frustrated": L(["Honestly this is getting tiring.", "I'm fed up with this.",
                     "Not impressed."],
                    ["真的无语了。", "折腾好几次了，能不能靠谱点。", "太让人失望了"]),
    "sarcastic": L(["Thanks for nothing, I guess.", "Really great experience.",
                    "Love paying for this."],
                   ["真是谢谢你们了。", "这服务体验可真棒。", "花钱买罪受。"]),
    "angry": L(["Worst service ever!!", "SORT IT OUT.", "This is a disgrace!"],
               ["简直离谱！", "必须给我解决！！", "太差劲了！！！"]),
}
TONE_SENTIMENT = {"polite": "neutral", "anxious": "anxious", "frustrated": "frustrated",
                  "sarcastic": "frustrated", "angry": "angry"}
TONE_WEIGHTS = [("polite", 32), ("anxious", 16), ("frustrated", 20), ("sarcastic", 8),
                ("angry", 24)]

# Background customers mention that changes nothing about the case: the model has to learn
# to look past it.
BACKGROUND = L(["I've been a customer for {n} years.", "I've never had a problem before.",
                "I'm typing this on my phone, sorry.", "I don't usually complain.",
                "My partner told me to get in touch.", "I've read your FAQ already.",
                "I was recommended to you by a friend.", "I just want this to be simple."],
               ["我是你们{n}年的老用户了。", "之前一直用得挺好的。", "手机打字，见谅。",
                "我平时很少投诉的。", "家里人让我来问问。", "常见问题我已经看过了。",
                "朋友推荐我用你们的。", "希望能简单点解决。"])

# Agent turns inside the dialog.
AGENT_ASK_ID = L(["Sorry to hear that. Could you share your {what} so I can check?",
                  "I'll look into it. What's the {what}, please?",
                  "Thanks for reaching out. Can you send me the {what}?"],
                 ["您好，麻烦提供一下{what}，我帮您查询。", "好的，请问{what}是多少呢？",
                  "收到，请发一下{what}方便核实。"])
AGENT_ASK_DETAIL = L(["Could you tell me a bit more about what happened?",
                      "Sorry to hear that. When did this start?",
                      "Can you give me a few more details?"],
                     ["能具体说一下当时的情况吗？", "请问是从什么时候开始的呢？",
                      "麻烦再详细描述一下情况。"])
AGENT_HOLD = L(["Thanks, I've passed this to the relevant team and they'll look into it.",
                "I understand. I've logged this and someone will get back to you.",
                "Let me check with the team. Please bear with us."],
               ["好的，已经帮您反馈给相关部门了，请耐心等待。", "收到，我们正在核实中，请稍等。",
                "已为您登记，后续会有专人联系您。"])
AGENT_HELPFUL = L(["I've checked and I can see what went wrong. I'm getting this sorted for you "
                   "now.",
                   "Thanks for the details, I can see the problem on our side and I'm fixing it.",
                   "I've found the issue and I'm taking care of it right away."],
                  ["已经查到了，问题确实在我们这边，马上为您处理。",
                   "感谢提供信息，已经找到原因了，正在为您处理。",
                   "查到问题了，我这边马上帮您解决。"])
AGENT_BAD = {
    "billing": L(["According to our system everything on your bill is correct.",
                  "Nothing can be changed once the bill is issued."],
                 ["系统显示账单是正确的。", "账单出了就改不了了。"]),
    "delivery": L(["Once the parcel leaves us it's the courier's responsibility. Please contact "
                   "them.", "Please take this up with the courier company directly."],
                  ["包裹发出后就归快递负责了，请您联系快递公司。", "这个请您直接找快递公司。"]),
    "product_quality": L(["Please contact the manufacturer directly.",
                          "We can only help within 7 days of delivery."],
                         ["请您直接联系厂家。", "签收超过7天我们就处理不了了。"]),
    "service_attitude": L(["I'm sorry you feel that way.",
                           "Our staff follow the standard procedure."],
                          ["很抱歉让您有这种感受。", "我们的员工都是按流程办事的。"]),
    "account_login": L(["Please try again later.",
                        "For security reasons we can't help with that over chat."],
                       ["请稍后再试。", "出于安全原因，这个在线上处理不了。"]),
    "refund": L(["Please allow up to 30 days for anything refund-related.",
                 "Our refund policy doesn't allow that."],
                ["退款相关的问题最长需要30天，请耐心等待。", "按规定这个没法处理。"]),
    "network_outage": L(["Please restart your equipment and try again.",
                         "There are no known issues in your area."],
                        ["请重启一下设备再试。", "系统显示您所在区域没有故障。"]),
    "insurance_claim": L(["Claims are handled in order, please wait.",
                          "We can only go by the policy terms."],
                         ["理赔是按顺序处理的，请耐心等待。", "我们只能按保单条款办。"]),
    "travel_hotel": L(["You'll need to take that up with the hotel or airline directly.",
                       "That's outside our control, unfortunately."],
                      ["这个需要您直接联系酒店或航空公司。", "这个不是我们能控制的。"]),
    "other": L(["Please check the FAQ on our website.",
                "I'll pass on your feedback."],
               ["请参考官网上的常见问题。", "您的意见我们会转达的。"]),
}
CUSTOMER_NUDGE = L(["Hello??", "Is anyone there?", "Anyone??", "hello? still waiting"],
                   ["在吗？", "有人吗？？", "人呢", "怎么没人回啊"])
CUSTOMER_ADD = L(["Also,", "And", "Forgot to say:", "One more thing:"],
                 ["补充一下，", "还有，", "对了，", "另外"])
ID_REPLY = L(["It's {m}.", "{M}.", "Sure, {m}.", "Here: {m}.", "My {m}."],
             ["{m}。", "{m}，麻烦查一下。", "好的，{m}", "我的{m}"])
ID_MISSING = L(["I don't have the number on me right now.", "Can't find the number, sorry.",
                "I don't know where the {what} is."],
               ["{what}一时找不到了。", "{what}找不到了。", "号码我现在查不到"])
PUSHBACK = {
    "frustrated": L(["That's not an answer.", "No, that doesn't help.",
                     "I've heard that before."],
                    ["这算什么回答？", "每次都这么说。", "别敷衍我了。"]),
    "angry": L(["ARE YOU SERIOUS?", "That's completely unacceptable!!", "Don't give me that!"],
               ["你这是在开玩笑吗？！", "这根本解决不了问题！！", "少来这一套！"]),
    "anxious": L(["That doesn't really help, I'm getting worried.",
                  "Please, I really need this sorted."],
                 ["这样还是解决不了啊，我很着急。", "拜托了，真的急需处理。"]),
    "polite": L(["OK, thank you.", "Alright, thanks."], ["好的，谢谢。", "好吧，麻烦了。"]),
}
THANKFUL = L(["Thank you, I really appreciate the quick help!",
              "Thanks a lot, that's reassuring.", "Great, thanks for being so helpful."],
             ["谢谢你，回复很及时！", "好的，太感谢了，服务很好。", "谢谢，你们态度真不错。"])
EMAIL_OPEN = L(["Dear Customer Service,", "Hello team,", "To whom it may concern,"],
               ["您好：", "客服部门：", "你好："])
PHONE_OPEN = L(["Yeah, hi.", "Hi, um,", "Hello? Yes,"], ["喂，你好，", "喂？那个，", "你好，是这样的，"])
SOCIAL_OPEN = L(["@support", "@help", "@CustomerCare"], ["@客服", "@官方客服", "@售后"])

# Follow-ups that turn a conversation's second event into its own complaint.
FOLLOWUP = {
    "not_done": dict(
        say=L(["It's been {n} days and nothing has happened.",
               "Still waiting. You said this would be sorted by now.",
               "{n} days later and still nothing. What's going on?"],
              ["都过去{n}天了，还是没有任何进展。", "还在等，说好的时间早过了。",
               "{n}天了还是没处理好，怎么回事？"]),
        greet=L(["{hi}, I understand you're still waiting for a resolution on {concern}{ref}.",
                 "{hi}, I can see the issue with {concern}{ref} is still not resolved.",
                 "{hi}, I see you're still waiting on {concern}{ref}."],
                ["{hi}，了解到{concern}{ref}的问题至今还没有解决。",
                 "{hi}，您反映的{concern}问题{ref}目前仍未处理好，我们已经知道了。",
                 "{hi}，收到您关于{concern}{ref}的再次反馈。"]),
        act=L(["I have escalated your case to our senior team, who will complete it within 24 "
               "hours.",
               "Your case is now with our senior team as a priority, and they will finish it "
               "within 24 hours.",
               "I've passed this to a senior specialist, who will resolve it within 24 hours."],
              ["我们已将您的问题升级至高级专员，24小时内处理完毕。",
               "已加急转交资深团队，24小时内为您处理完成。",
               "您的问题已升级优先处理，24小时内为您解决。"]),
        step=L(["You'll receive a confirmation as soon as it's done.",
                "We'll message you as soon as it's completed.",
                "You will get a confirmation message once it's done."],
               ["处理完成后会第一时间通知您。", "一旦完成我们会马上告知您。",
                "完成后您会收到确认通知。"])),
    "thanks_but": dict(
        say=L(["Thanks, that's great, I appreciate the help! Could you send me a written "
               "confirmation by email?",
               "Thank you, that's really helpful. Can I get that confirmed in writing?",
               "Perfect, thanks a lot! Please just email me a confirmation."],
              ["好的，谢谢你们！能不能发个邮件书面确认一下？",
               "谢谢，处理得很及时！麻烦给我一个书面确认。",
               "太好了，谢谢！请发封确认邮件给我。"]),
        greet=L(["{hi}, I'm glad we could help with {concern}{ref}.",
                 "{hi}, thanks for getting back to us about {concern}{ref}.",
                 "{hi}, it's good to hear from you again about {concern}{ref}."],
                ["{hi}，很高兴能帮您处理{concern}{ref}的问题。",
                 "{hi}，感谢您关于{concern}{ref}的回复。",
                 "{hi}，收到您关于{concern}{ref}的消息。"]),
        act=L(["We will email you written confirmation within one business day.",
               "A written confirmation will be sent to your email within one business day.",
               "You'll receive written confirmation by email within one business day."],
              ["我们会在1个工作日内通过邮件发送书面确认。",
               "书面确认将在1个工作日内发送到您的邮箱。",
               "1个工作日内您会收到书面确认邮件。"]),
        step=L(["Please keep it for your records.", "Please keep the email for your records.",
                "It's worth keeping it for your records."],
               ["请妥善保存以备查询。", "请保存好这封邮件备查。", "建议您保存好以备后续查询。"])),
    "supervisor": dict(
        say=L(["That's not good enough. I want to speak to a supervisor.",
               "No. I want this escalated to a manager.",
               "I'm not accepting that. Get me a supervisor."],
              ["这个处理方案我不接受，我要找主管。", "不行，请让你们领导来处理。",
               "这样处理我不满意，要求升级给主管。"]),
        greet=L(["{hi}, I understand you're not happy with our answer about {concern}{ref}.",
                 "{hi}, I hear that our proposed solution for {concern}{ref} isn't good enough.",
                 "{hi}, I understand our last reply about {concern}{ref} didn't resolve things for "
                 "you."],
                ["{hi}，了解到您对{concern}{ref}的处理方案不满意。",
                 "{hi}，明白我们之前关于{concern}{ref}的答复没能让您满意。",
                 "{hi}，收到您对{concern}{ref}处理结果的意见。"]),
        act=L(["A supervisor will call you within one business day to review your case.",
               "I've asked a supervisor to phone you within one business day about your case.",
               "Your case is now with a supervisor, who will call you within one business day."],
              ["主管会在1个工作日内致电与您沟通处理方案。", "已安排主管在1个工作日内给您回电。",
               "您的问题已转交主管，1个工作日内会电话联系您。"]),
        step=L(["Please reply with a good time to call you.",
                "Let us know the best time to reach you.",
                "Please tell us when it's convenient to call."],
               ["请回复方便接听电话的时间。", "请告知您方便接电话的时间段。",
                "麻烦回复一下方便联系的时间。"])),
}

# Reply slots shared by all sub-issues.
GREET = L(["{hi}, I see you're writing about {concern}{ref}.",
           "{hi}, I understand you've contacted us about {concern}{ref}.",
           "{hi}, I'm replying about {concern}{ref}.",
           "{hi}, I've looked into {concern}{ref}."],
          ["{hi}，您反映的{concern}问题{ref}已收到。",
           "{hi}，关于{concern}{ref}的情况我们已了解。",
           "{hi}，已收到您关于{concern}{ref}的反馈。",
           "{hi}，您提到的{concern}{ref}我们正在跟进。"])
HELLO = L(["Hi", "Hello", "Hi there"], ["您好"])
HELLO_NAMED = L(["Hi {name}", "Hello {name}", "Dear {name}"], ["{name}您好", "{name}，您好"])
REF = L([" ({label} {id})", " ({label} no. {id})"], ["（{label}：{id}）", "（{label}{id}）"])
APOLOGY = {
    "neutral": L(["Sorry for the inconvenience.", "We apologise for the trouble.",
                  "I'm sorry for the inconvenience.", "Please accept our apologies."],
                 ["给您带来不便，非常抱歉。", "很抱歉给您添麻烦了。", "对此我们深表歉意。"]),
    "upset": L(["I'm sorry for the frustration this has caused.",
                "I understand your frustration, and I apologise.",
                "I'm really sorry this has been so frustrating.",
                "I apologise, and I understand why you're upset."],
               ["理解您的心情，非常抱歉。", "让您这么生气，非常抱歉。", "体验这么差，实在抱歉。"]),
    "anxious": L(["I'm sorry for the worry this has caused.",
                  "I know this is stressful, and I'm sorry.",
                  "We apologise for the worry this has caused."],
                 ["让您担心了，非常抱歉。", "理解您的着急，非常抱歉。", "很抱歉让您这么着急。"]),
    "repeat": L(["I'm sorry you've had to contact us again.",
                 "I apologise that you've had to chase us.",
                 "Sorry you've had to get in touch more than once."],
                ["让您多次联系，实在抱歉。", "很抱歉让您反复来找我们。", "让您一再反映，非常抱歉。"]),
    "satisfied": L(["Sorry again for the trouble this caused.",
                    "Apologies again for the inconvenience.", "We're sorry again for the trouble."],
                   ["再次为给您带来的不便致歉。", "之前给您添麻烦了，再次抱歉。", "再次向您表示歉意。"]),
}
THANKS = L(["Thank you for your patience.", "Thanks for bearing with us.",
            "We appreciate your patience.", "Thank you for your understanding."],
           ["感谢您的耐心等待！", "谢谢您的理解。", "感谢您的耐心与理解。", "谢谢您的配合！"])
# When a reference number is needed but never given, the next step asks for it.
STEP_NEED_ID = L(["Please reply with your {what} so we can locate it quickly.",
                  "Could you reply with your {what} so we can find it faster?",
                  "Please send us your {what} so we can track it down quickly."],
                 ["请回复您的{what}，方便我们尽快查询。", "麻烦回复一下{what}，以便我们快速核实。",
                  "请提供{what}，我们好尽快处理。"])
# Reference kinds the company cannot act without (tickets and accounts are found by login).
NEEDS_ID = {"order", "invoice", "claim", "policy", "booking"}

# --- the sub-issues ------------------------------------------------------------------------
#
# Slots customers' texts may use: {amt} {amt2} {product} {plan} {date} {n} {city} {pinyin}
# {time} {staff}. Reply templates may use {amt} {product} {plan} {city}, always inside an
# optional segment, because only details the customer actually wrote reach the reply.

_REFUND_STEP = L(["You'll receive an email as soon as the refund is issued.",
                  "We'll email you as soon as the refund has been sent.",
                  "An email will confirm the refund as soon as it is issued."],
                 ["退款发出后会短信通知您。", "退款发出时我们会第一时间通知您。",
                  "退款处理后您会收到到账通知。"])
_FULL_REFUND = L(["I just want a full refund.", "Refund me, I don't want another one.",
                  "Take it back and give me my money back."],
                 ["我要退货退款。", "不想换了，直接退款。", "退货，把钱退给我"])
_REPLACE_ASK = L(["I want a replacement.", "Please swap it for one that works.",
                  "Send me a working one."],
                 ["请给我换一个新的。", "要求换货。", "给我换个好的"])

BILLING = [
    Issue(
        "billing", "duplicate_charge", MEDIUM, id_kind="order", amount=True,
        say=L(["I was charged twice for the same order, {amt} taken two times.",
               "You billed my card {amt} twice on {date}.",
               "There are two identical charges of {amt} on my statement but I only bought once.",
               "Why did my credit card get charged twice?? I only paid once."],
              ["同一笔订单被扣了两次钱，每次{amt}。", "{date}我的卡被你们重复扣款了，两笔都是{amt}。",
               "明明只买了一次，账单上却有两笔{amt}的扣款。", "为什么扣了我两次费？我只付了一次啊"]),
        concern=L(["the duplicate charge", "being charged twice",
                   "the double payment on your card"],
                  ["重复扣费", "重复扣款", "被重复扣费"]),
        detail=L(["My bank says both payments went through.", "I only clicked pay once.",
                  "I have a screenshot of the bank statement."],
                 ["银行那边说两笔都扣成功了。", "我只点了一次付款。", "银行流水截图我已经截好了。"]),
        fixes=(Fix(
            demand=L("refund the duplicate charge", "退还重复扣款"),
            ask=L(["I want the extra charge refunded.", "Please refund the second payment.",
                   "Give me my money back for the double charge."],
                  ["请把多扣的钱退给我。", "要求退还重复扣的那笔。", "赶紧把多扣的钱退回来"]),
            act=L(["We will refund the duplicate charge[ of {amt}] to your original payment method "
                   "within 3-5 business days.",
                   "The extra payment[ of {amt}] will be refunded to your card within 3-5 business "
                   "days.",
                   "I have arranged a refund of the duplicate charge[ of {amt}], which will reach "
                   "your account within 3-5 business days."],
                  ["我们会在3-5个工作日内将重复扣除的[{amt}]款项原路退回。",
                   "多扣的[{amt}]费用将在3-5个工作日内退回您的原支付账户。",
                   "已为您申请退还重复扣款[{amt}]，预计3-5个工作日内到账。"]),
            step=L(["Please check your statement after that and reply here if it hasn't arrived.",
                    "If the refund isn't on your statement by then, just reply to this message.",
                    "Please keep an eye on your statement and let us know if it doesn't show up."],
                   ["届时请留意到账信息，如未到账请直接回复。",
                    "请留意账户到账情况，如未收到可随时回复。",
                    "到期后如果还没到账，请直接回复我们。"])),)),
    Issue(
        "billing", "wrong_plan_price", LOW, id_kind="invoice", amount=True,
        plans=L(["Premium", "Family", "Unlimited 5G", "Basic", "Gold"],
                ["5G畅享", "全家福", "百兆宽带", "VIP会员", "无限流量"]),
        say=L(["My bill says {amt} but my {plan} plan is supposed to be {amt2} a month.",
               "You charged me {amt} this month, the plan I signed up for costs {amt2}.",
               "Why is my monthly bill {amt}? I was promised {amt2} when I signed up."],
              ["我办的{plan}套餐说好每月{amt2}，这个月却扣了{amt}。",
               "这个月账单{amt}，可我的套餐明明是{amt2}一个月。",
               "签约的时候说{amt2}一个月，怎么变成{amt}了？"]),
        concern=L(["the price charged for your[ {plan}] plan",
                   "being billed more than your plan price",
                   "the incorrect amount on your monthly bill"],
                  ["[{plan}]套餐多收费", "套餐多收费", "套餐费用多收"]),
        detail=L(["The price is in the contract I signed.", "I haven't changed my plan at all.",
                  "Nobody told me about any price change."],
                 ["合同上写得清清楚楚。", "我根本没改过套餐。", "也没人通知我涨价。"]),
        fixes=(Fix(
            demand=L("fix the bill and refund the difference", "更正账单并退还差价"),
            ask=L(["Please correct it and refund the difference.",
                   "Fix my bill and give me back what I overpaid.",
                   "I expect the difference back."],
                  ["请把账单改过来，多收的退给我。", "要求退还差价。", "把多扣的差价还我"]),
            act=L(["We will correct your bill to the agreed plan price and refund the difference "
                   "within 5 business days.",
                   "Your bill will be corrected to the price you signed up for, and the overpaid "
                   "amount refunded within 5 business days.",
                   "I've asked our billing team to fix the plan price and return the difference to "
                   "you within 5 business days."],
                  ["我们会按签约价格更正账单，并在5个工作日内退还差价。",
                   "账单将按您办理时的套餐价格调整，多收部分5个工作日内退回。",
                   "已提交账务部门更正套餐价格，差价会在5个工作日内退还给您。"]),
            step=L(["You will receive the corrected bill by email once it's done.",
                    "A corrected bill will be emailed to you when this is complete.",
                    "We'll email you the updated bill as soon as it's ready."],
                   ["更正后的账单会发送到您的邮箱。", "处理完成后我们会把新账单发给您。",
                    "调整后的账单会通过邮件发送给您。"])),)),
    Issue(
        "billing", "unexpected_fee", LOW, id_kind="invoice", amount=True,
        say=L(["There's a {amt} 'service fee' on my bill that I never agreed to.",
               "What is this {amt} charge called 'admin fee'? Nobody told me about it.",
               "My latest bill has an extra {amt} fee with no explanation."],
              ["账单上多了一笔{amt}的“服务费”，我从来没同意过。",
               "这个{amt}的手续费是什么？没人跟我说过啊", "最新账单莫名其妙多了{amt}的费用，也没有任何说明。"]),
        concern=L(["the unexpected fee on your bill", "the extra fee you were charged",
                   "an unexplained fee on your bill"],
                  ["账单上的不明费用", "账单里的不明费用", "不明费用"]),
        detail=L(["It wasn't there last month.", "I checked the terms and can't find it anywhere."],
                 ["上个月还没有这笔。", "条款里我翻遍了也没找到。"]),
        fixes=(Fix(
            demand=L("remove the unexpected fee", "取消这笔不明费用"),
            ask=L(["Take it off my bill.", "Please remove this fee.",
                   "I want this charge removed and refunded."],
                  ["请把这笔费用去掉。", "要求取消这笔收费并退回。", "这个钱我不认，给我退掉"]),
            act=L(["We will remove the fee[ of {amt}] and credit it back on your next bill.",
                   "The[ {amt}] fee will be waived and returned as a credit on your next bill.",
                   "I have cancelled the[ {amt}] charge, and it will appear as a credit on your "
                   "next bill."],
                  ["我们会取消这笔[{amt}]费用，并在下期账单中抵扣返还。",
                   "这笔[{amt}]的费用已为您免除，将在下期账单中返还。",
                   "已为您撤销该[{amt}]收费，下期账单中会直接抵扣。"]),
            step=L(["You'll see the credit on your next statement.",
                    "Please check that the credit appears on your next bill.",
                    "The credit will show up on your next statement."],
                   ["下期账单中即可看到抵扣。", "请在下期账单中查看返还情况。", "返还金额会显示在下期账单上。"])),)),
    Issue(
        "billing", "renewal_after_cancel", MEDIUM, amount=True,
        plans=L(["Premium", "Music Plus", "Video VIP", "Cloud 200GB"],
                ["视频VIP", "音乐会员", "云盘200G", "健身年卡"]),
        say=L(["I cancelled my {plan} subscription last month and you still renewed it for {amt}.",
               "You auto-renewed my membership and took {amt} even though I cancelled on {date}.",
               "Why was I charged {amt} for a renewal? I turned off auto-renew ages ago!"],
              ["我上个月就取消了{plan}，结果又被自动续费{amt}。", "{date}已经关掉自动续费了，怎么还扣了我{amt}？",
               "明明取消了订阅，App Store又扣了{amt}续费。"]),
        concern=L(["the renewal charge after you cancelled",
                   "the automatic renewal of your[ {plan}] subscription",
                   "being charged for a renewal you had cancelled"],
                  ["取消后仍被自动续费", "取消后被自动续费", "[{plan}]取消后仍被自动续费"]),
        detail=L(["I have the cancellation email.",
                  "The app showed the subscription as cancelled."],
                 ["我有取消成功的截图。", "当时App里显示已取消。"]),
        step=L(["You'll get an email confirming this shortly.",
                "A confirmation will be sent to your email shortly.",
                "We'll email you a confirmation shortly."],
               ["稍后会短信通知您处理结果。", "处理结果稍后会短信告知您。", "稍后您会收到确认通知。"]),
        fixes=(
            Fix(demand=L("refund the renewal charge", "退还自动续费的费用"),
                ask=L(["Refund the renewal now.", "I want that money back.",
                       "Please refund the renewal fee."],
                      ["请把续费的钱退给我。", "要求退还这次续费。", "续费的钱必须退"]),
                act=L(["We will cancel the subscription and refund the renewal charge[ of {amt}] "
                       "within 5 business days.",
                       "Your subscription has been cancelled, and the renewal charge[ of {amt}] "
                       "will be refunded within 5 business days.",
                       "I've stopped the subscription and requested a full refund of the renewal[ "
                       "({amt})] within 5 business days."],
                      ["我们会为您取消订阅，并在5个工作日内退还[{amt}]续费款。",
                       "订阅已为您取消，本次[{amt}]续费将在5个工作日内退回。",
                       "已关闭您的订阅并申请全额退还续费[{amt}]，5个工作日内到账。"])),
            Fix(demand=L("stop the automatic renewal", "关闭自动续费"),
                ask=L(["Just make sure it never renews again.",
                       "Turn off the auto-renewal for good.",
                       "Stop charging me."],
                      ["以后别再自动扣费了。", "把自动续费彻底关掉。", "请确保不会再扣费。"]),
                act=L(["We have switched off automatic renewal today, so there will be no further "
                       "charges.",
                       "Auto-renewal is now turned off on your account, and no more charges will "
                       "be taken.",
                       "I've disabled the automatic renewal today, so you won't be charged again."],
                      ["今天已为您关闭自动续费，之后不会再扣款。", "您的自动续费已关闭，后续不会再产生费用。",
                       "已帮您取消自动续费，今后不会再扣费。"])))),
    Issue(
        "billing", "invoice_error", LOW, id_kind="invoice",
        say=L(["The invoice you sent has the wrong company name and tax number.",
               "My invoice shows the wrong billing address, I can't claim it at work.",
               "The VAT invoice is wrong, the company details don't match my order."],
              ["你们开的发票抬头写错了，税号也不对。", "发票上的公司名称错了，公司没法报销。",
               "电子发票和我的订单对不上，抬头也有问题。"]),
        concern=L(["the error on your invoice", "the incorrect details on your invoice",
                   "your incorrect invoice"],
                  ["发票信息有误", "发票信息错误", "发票信息开错"]),
        detail=L(["I entered the correct details when I ordered.",
                  "The company name should be Hengda Trading Ltd."],
                 ["下单时我填的信息是对的。", "我们公司名称是上海恒达贸易有限公司。"]),
        fixes=(Fix(
            demand=L("reissue a corrected invoice", "重新开具正确的发票"),
            ask=L(["Please reissue it with the right details.", "Send me a corrected invoice.",
                   "I need a new invoice asap."],
                  ["请重新开一张。", "麻烦重开发票。", "请尽快给我重开一张正确的发票"]),
            act=L(["We will reissue a corrected invoice and email it to you within 2 business "
                   "days.",
                   "A corrected invoice will be sent to your email within 2 business days.",
                   "I've asked our finance team to issue a new invoice with the right details, and "
                   "you'll have it by email within 2 business days."],
                  ["我们会在2个工作日内重新开具正确的发票并发送到您的邮箱。",
                   "更正后的发票将在2个工作日内发送到您的邮箱。",
                   "已安排财务重开发票，2个工作日内发到您的邮箱。"]),
            step=L(["Please reply with the correct company name and tax number.",
                    "Just reply with the correct company details so we can use them.",
                    "Could you reply with the correct company name and tax number?"],
                   ["请回复正确的抬头和税号。", "麻烦回复一下正确的公司名称和税号。",
                    "请回复确认正确的开票信息。"])),)),
]

DELIVERY = [
    Issue(
        "delivery", "late_parcel", MEDIUM, id_kind="order",
        say=L(["My parcel was supposed to arrive on {date} and it's still not here.",
               "The order is {n} days late and tracking hasn't updated since {date}.",
               "Where is my package? It was due {date}.",
               "Still no delivery. Tracking says 'in transit' for a week now."],
              ["说好{date}送到的快递，到现在还没到。", "物流信息从{date}开始就没更新过了，已经晚了{n}天。",
               "我的包裹到底在哪？说好{date}到的。", "快递一直显示运输中，都一个礼拜了"]),
        concern=L(["your delayed parcel", "the late delivery of your order",
                   "your parcel that hasn't arrived yet"],
                  ["包裹延误", "包裹延误未送达", "包裹迟迟未送达"]),
        detail=L(["Tracking hasn't changed in days.", "I stayed home all day waiting for it."],
                 ["物流好几天没更新了。", "我在家等了一整天。"]),
        safety=Safety(
            say=L(["It's my mum's heart medication and she's running out.",
                   "The parcel is insulin for my son and we need it urgently."],
                  ["里面是我妈的降压药，已经快吃完了！", "是孩子要用的胰岛素，急用！"]),
            step=L(["In the meantime, please get an emergency supply from a local pharmacy and "
                    "keep the receipt.",
                    "Please get an emergency supply from a nearby pharmacy for now and keep the "
                    "receipt.",
                    "Until it arrives, please buy an emergency supply at a local pharmacy and keep "
                    "the receipt."],
                   ["药品急用的话，请先到附近药店购买应急，并保留好票据。",
                    "请先在附近药店购买应急药品，保留小票以便后续处理。",
                    "到货前请先去药店买些应急，记得保留购药凭证。"])),
        fixes=(
            Fix(demand=L("deliver the parcel as soon as possible", "尽快送达包裹"),
                ask=L(["I need it delivered asap.", "Please find it and get it to me.",
                       "Just get it here."],
                      ["请尽快给我送过来。", "麻烦催一下，尽快送到。", "赶紧帮我查查什么时候能到"]),
                act=L(["We have asked the courier to prioritise your parcel and will update you on "
                       "its delivery within 24 hours.",
                       "I've escalated your parcel with the courier as a priority, and we'll send "
                       "you a delivery update within 24 hours.",
                       "The courier has been asked to deliver your parcel urgently, and you'll "
                       "hear from us within 24 hours."],
                      ["已联系快递公司优先派送您的包裹，24小时内告知配送进度。",
                       "已催促快递加急处理您的包裹，24小时内向您更新物流情况。",
                       "已要求快递公司尽快派送，我们会在24小时内告知您最新进度。"]),
                step=L(["Please keep your phone on so the courier can reach you.",
                        "Please make sure the courier can reach you by phone.",
                        "Keep your phone nearby in case the courier calls."],
                       ["请保持电话畅通，方便快递员联系您。", "请留意快递员来电。",
                        "请保持手机畅通，以便快递员与您联系。"])),
            Fix(demand=L("cancel the order and refund", "取消订单并退款"),
                ask=L(["If it can't come this week, cancel it and refund me.",
                       "Cancel the order and give me my money back.",
                       "I don't want it anymore, refund me."],
                      ["再不到就取消订单退款吧。", "不要了，直接退款。", "请帮我取消订单，把钱退回来。"]),
                act=L(["We will cancel the order and refund you in full within 3-5 business days.",
                       "Your order will be cancelled and fully refunded within 3-5 business days.",
                       "I've cancelled the order and arranged a full refund, which will arrive "
                       "within 3-5 business days."],
                      ["我们会为您取消订单，并在3-5个工作日内全额退款。",
                       "订单将为您取消，货款3-5个工作日内全额退回。",
                       "已帮您取消订单并申请全额退款，3-5个工作日内到账。"]),
                step=L(["If the parcel still arrives, please refuse delivery.",
                        "Should the parcel turn up anyway, just refuse it at the door.",
                        "If it is delivered after all, please refuse the parcel."],
                       ["如果包裹仍然送到，请直接拒收。", "若之后快递送达，请拒签即可。",
                        "如包裹后续送到，直接拒收就可以。"])))),
    Issue(
        "delivery", "lost_parcel", MEDIUM, id_kind="order",
        say=L(["Tracking says my parcel was delivered on {date}, but I never got it.",
               "The app shows 'delivered' but there's nothing at my door.",
               "My package is marked as delivered and it's nowhere. Neighbours haven't seen it."],
              ["物流显示{date}已签收，但我根本没收到！", "App上显示已送达，可我家门口什么都没有。",
               "快递显示签收了，问了邻居和驿站都说没有。"]),
        concern=L(["the parcel marked as delivered that you never received", "your missing parcel",
                   "your lost parcel"],
                  ["包裹显示签收但未收到", "包裹签收但未收到", "包裹显示已签收却没收到"]),
        detail=L(["I was home all day and nobody knocked.",
                  "I checked with the building's front desk."],
                 ["那天我一整天都在家，没人敲门。", "我已经问过物业和快递柜了。"]),
        fixes=(
            Fix(demand=L("resend the parcel", "重新发货"),
                ask=L(["Please send it again.", "I want a replacement sent out.",
                       "Resend my order."],
                      ["请给我重新发一份。", "要求补发。", "麻烦重新发货"]),
                act=L(["We have opened an investigation with the courier and will resend your "
                       "order at no cost within 2 business days.",
                       "I've reported the parcel as lost to the courier, and a replacement will "
                       "ship free of charge within 2 business days.",
                       "While the courier investigates, we will resend your order at no extra cost "
                       "within 2 business days."],
                      ["我们已向快递公司发起调查，并会在2个工作日内免费为您重新发货。",
                       "已向快递登记丢件，2个工作日内为您免费补发。",
                       "在快递核查的同时，我们会在2个工作日内免费给您重新发货。"]),
                step=L(["You will get a new tracking number by email once it ships.",
                        "We'll email you the new tracking number when it's on its way.",
                        "A new tracking number will be sent to you as soon as it ships."],
                       ["发货后会短信告知您新的运单号。", "补发后我们会把新的物流单号发给您。",
                        "新的快递单号会在发货后通知您。"])),
            Fix(demand=L("refund the order", "退款"),
                ask=L(["Just refund me.", "I want a full refund.", "Give me my money back."],
                      ["直接给我退款吧。", "要求全额退款。", "把钱退给我"]),
                act=L(["We will refund your order in full within 3-5 business days while we "
                       "investigate with the courier.",
                       "A full refund will reach you within 3-5 business days, and we'll take the "
                       "matter up with the courier.",
                       "I've arranged a full refund within 3-5 business days and opened an "
                       "investigation with the courier."],
                      ["我们会在3-5个工作日内为您全额退款，同时向快递公司追查。",
                       "货款将在3-5个工作日内全额退回，丢件问题我们找快递处理。",
                       "已为您申请全额退款，3-5个工作日内到账，并已向快递发起调查。"]),
                step=_REFUND_STEP))),
    Issue(
        "delivery", "wrong_address", MEDIUM, id_kind="order",
        say=L(["The courier delivered my order to my old address even though I updated it.",
               "My parcel went to the wrong address, it was left at a completely different "
               "building.",
               "You shipped it to an address I changed weeks ago."],
              ["我明明改过地址了，快递还是送到了旧地址。", "包裹被送到了别的小区，根本不是我的地址。",
               "地址写错了吧？快递送到了隔壁楼，人家不在家。"]),
        concern=L(["your parcel going to the wrong address", "the delivery to the wrong address",
                   "your misdelivered parcel"],
                  ["包裹送错地址", "包裹被送错地址", "包裹配送地址错误"]),
        detail=L(["My new address is saved in my account.",
                  "The photo proof shows a door that isn't mine."],
                 ["新地址账户里早就改好了。", "签收照片上根本不是我家的门。"]),
        fixes=(Fix(
            demand=L("redirect the parcel to my address", "把包裹改送到正确地址"),
            ask=L(["Please get it back and deliver it to the right address.",
                   "Redirect it to my current address.",
                   "Get my parcel to me, at my actual address."],
                  ["请把包裹取回来重新送到我这。", "麻烦改送到正确地址。", "赶紧帮我把包裹拿回来送到我家"]),
            act=L(["We have asked the courier to retrieve the parcel and redeliver it to your "
                   "correct address within 2 business days.",
                   "The courier will collect the parcel and bring it to your current address "
                   "within 2 business days.",
                   "I've arranged for the courier to recover your parcel and deliver it to the "
                   "right address within 2 business days."],
                  ["我们已联系快递取回包裹，2个工作日内重新送到您的正确地址。",
                   "快递员会取回包裹，并在2个工作日内改送到您现在的地址。",
                   "已安排快递找回包裹，2个工作日内送到正确地址。"]),
            step=L(["Please reply to confirm your full current address.",
                    "Please reply with your current address so we can double-check it.",
                    "Could you confirm your full delivery address by replying to this message?"],
                   ["请回复确认您完整的收货地址。", "麻烦回复一下您现在的详细地址，我们再核对一次。",
                    "请回复您的完整收货地址以便核实。"])),)),
    Issue(
        "delivery", "damaged_in_transit", LOW, id_kind="order",
        products=L(["glass vase", "monitor", "dinner set", "coffee machine", "mirror", "TV"],
                   ["玻璃花瓶", "显示器", "餐具套装", "咖啡机", "穿衣镜", "电视"]),
        say=L(["The box arrived crushed and the {product} inside is broken.",
               "My {product} came smashed, the box looked like it had been dropped.",
               "Parcel arrived today completely damaged. The {product} is cracked."],
              ["快递箱子都压扁了，里面的{product}也碎了。", "收到的{product}摔坏了，外包装明显被摔过。",
               "今天到的包裹破损严重，{product}裂了。"]),
        concern=L(["[the {product} that arrived damaged|your order that arrived damaged]",
                   "your damaged delivery",
                   "[the damaged {product}|the damaged item] you received"],
                  ["[{product}|商品]运输途中破损", "[{product}|商品]运输中破损", "收到的[{product}|商品]运输破损"]),
        detail=L(["I took photos of the box and the damage.",
                  "The outer box had a huge dent in it."],
                 ["开箱前我拍了照片。", "外箱有明显的压痕。"]),
        step=L(["Please reply with a photo of the damage for our records.",
                "Could you send us a photo of the damage for our records?",
                "Please send a quick photo of the damage so we can log it."],
               ["请回复一张破损照片，方便我们存档。", "麻烦拍一张破损照片发给我们备案。",
                "请提供破损照片，我们会登记备案。"]),
        fixes=(
            Fix(demand=L("send a replacement", "补发新的商品"),
                ask=L(["Please send me a new one.", "I want a replacement.",
                       "Send a replacement asap."],
                      ["请给我换个新的。", "要求补发一个新的。", "赶紧给我重新发一个"]),
                act=L(["We will send you a replacement[ {product}] within 2 business days, and you "
                       "don't need to return the damaged one.",
                       "A replacement[ {product}] will ship to you within 2 business days, with no "
                       "need to send the damaged item back.",
                       "I've arranged a free replacement[ {product}] to ship within 2 business "
                       "days, and you don't have to return the broken one."],
                      ["我们会在2个工作日内为您补发新的[{product}|商品]，破损的无需寄回。",
                       "新的[{product}|商品]将在2个工作日内发出，损坏的不用退回。",
                       "已为您安排免费补发[{product}|商品]，2个工作日内发货，破损件无需退回。"])),
            Fix(demand=L("refund the damaged item", "退还损坏商品的货款"),
                ask=_FULL_REFUND,
                act=L(["We will refund the[ {product}| item] in full within 3-5 business days, and "
                       "you don't need to return it.",
                       "You'll get a full refund for the[ {product}| item] within 3-5 business "
                       "days, with no need to send it back.",
                       "I've arranged a full refund for the damaged[ {product}| item] within 3-5 "
                       "business days, and you can keep it."],
                      ["我们会在3-5个工作日内全额退还[{product}|商品]货款，破损的无需寄回。",
                       "[{product}|商品]的货款将在3-5个工作日内全额退回，不用退货。",
                       "已为您申请[{product}|商品]全额退款，3-5个工作日内到账，无需寄回。"])))),
    Issue(
        "delivery", "courier_conduct", LOW, id_kind="order",
        say=L(["Your courier threw my parcel over the gate and drove off.",
               "The delivery driver was extremely rude to me when I asked him to bring it "
               "upstairs.",
               "The courier didn't even ring, just left a 'missed delivery' card while I was "
               "home."],
              ["你们的快递员直接把包裹扔在门口就走了，态度极差。", "快递员打电话骂人，还说爱要不要。",
               "我人就在家，快递员根本没敲门，直接显示派送失败。"]),
        concern=L(["the courier's behaviour", "how the courier treated you and your parcel",
                   "your experience with our courier"],
                  ["快递员态度恶劣", "快递员服务态度差", "快递员的恶劣态度"]),
        detail=L(["I think his name was {pinyin}.", "It happened {time}."],
                 ["快递员姓{surname}。", "大概是{time}的事。"]),
        fixes=(Fix(
            demand=L("file a complaint about the courier", "投诉并处理该快递员"),
            ask=L(["I want to file a formal complaint about him.", "Please report this courier.",
                   "Make sure this driver is dealt with."],
                  ["我要投诉这个快递员。", "请严肃处理这个快递员。", "必须给我个处理结果"]),
            act=L(["We have filed a formal complaint with the courier company and will tell you "
                   "the outcome within 3 business days.",
                   "A formal complaint has gone to the courier company, and we'll report back to "
                   "you within 3 business days.",
                   "I've lodged a formal complaint with the courier, and you'll hear the outcome "
                   "from us within 3 business days."],
                  ["我们已向快递公司正式投诉，3个工作日内告知您处理结果。",
                   "已向快递公司提交正式投诉，3个工作日内给您反馈。",
                   "已对该快递员发起正式投诉，处理结果3个工作日内通知您。"]),
            step=L(["If it happens again, please let us know the date and time.",
                    "Should it happen again, please tell us the date and time.",
                    "Please note the date and time if it happens again and let us know."],
                   ["如再次遇到，请告诉我们具体日期和时间。", "若再发生类似情况，请记下时间告诉我们。",
                    "以后如再遇到，请告知具体的日期和时间。"])),)),
]

_PACK_STEP = L(["Please keep the original box and accessories ready for the courier.",
                "Please have the item packed with its accessories ready for collection.",
                "Please keep the original packaging handy so the courier can collect it."],
               ["请准备好原包装和配件，方便快递取件。", "请将商品和配件打包好，等待上门取件。",
                "请保留原包装，便于快递员取回。"])

PRODUCT_QUALITY = [
    Issue(
        "product_quality", "dead_on_arrival", MEDIUM, id_kind="order",
        products=L(["Bluetooth speaker", "blender", "robot vacuum", "smartwatch", "air fryer",
                    "printer", "tablet"],
                   ["蓝牙音箱", "破壁机", "扫地机器人", "智能手表", "空气炸锅", "打印机", "平板电脑"]),
        say=L(["The {product} I got doesn't turn on at all.",
               "Brand new {product} and it's dead out of the box.",
               "My new {product} stopped working on day one."],
              ["刚收到的{product}根本开不了机。", "新买的{product}拆开就是坏的。",
               "{product}到手第一天就用不了了。"]),
        concern=L(["[your faulty {product}|the faulty item you received]",
                   "[the {product} that arrived broken|the item that arrived broken]",
                   "[your new {product}|your new item] not working"],
                  ["[{product}|商品]到手无法使用", "新[{product}|商品]到手无法使用", "[{product}|商品]收到就无法使用"]),
        detail=L(["I tried charging it overnight and with a different cable.",
                  "I followed the manual step by step."],
                 ["充了一晚上电也没用。", "按说明书操作了好几遍。"]),
        step=_PACK_STEP,
        fixes=(
            Fix(demand=L("replace the faulty item", "更换新的商品"),
                ask=_REPLACE_ASK,
                act=L(["We will send you a replacement[ {product}] within 2 business days and "
                       "collect the faulty one at the same time.",
                       "A new[ {product}] will ship within 2 business days, and the courier will "
                       "pick up the faulty one.",
                       "I've arranged a replacement[ {product}] to ship within 2 business days, "
                       "with free collection of the faulty one."],
                      ["我们会在2个工作日内为您换发新的[{product}|商品]，同时上门取回故障商品。",
                       "新的[{product}|商品]将在2个工作日内发出，快递会同时取走有问题的那件。",
                       "已为您安排换货，新[{product}|商品]2个工作日内发出，故障件免费上门取回。"])),
            Fix(demand=L("refund the faulty item", "退货退款"),
                ask=_FULL_REFUND,
                act=L(["We will collect the faulty[ {product}| item] free of charge and refund you "
                       "in full within 3-5 business days of pickup.",
                       "The courier will pick up the[ {product}| item] for free, and your full "
                       "refund follows within 3-5 business days.",
                       "I've booked a free collection of the[ {product}| item], and you'll be "
                       "refunded in full within 3-5 business days after pickup."],
                      ["我们会免费上门取回故障[{product}|商品]，取件后3-5个工作日内全额退款。",
                       "快递会免费取回[{product}|商品]，取件后3-5个工作日内全额退款。",
                       "已为您预约免费取件，[{product}|商品]取回后3-5个工作日内全额退款。"])))),
    Issue(
        "product_quality", "broke_within_warranty", MEDIUM, id_kind="order",
        products=L(["washing machine", "laptop", "coffee machine", "fridge", "robot vacuum",
                    "air conditioner"],
                   ["洗衣机", "笔记本电脑", "咖啡机", "冰箱", "扫地机器人", "空调"]),
        say=L(["My {product} broke after just {n} weeks of normal use.",
               "The {product} I bought two months ago has stopped working.",
               "The {product} is only {n} weeks old and already makes a grinding noise and won't "
               "start."],
              ["{product}才用了{n}周就坏了。", "两个月前买的{product}现在已经不能用了。",
               "买了没多久的{product}，现在有异响还启动不了。"]),
        concern=L(["[your {product}|your product] breaking down so soon",
                   "[the fault with your {product}|the fault with your product]",
                   "[your {product}|your product] that stopped working"],
                  ["[{product}|商品]使用不久出现故障", "[{product}|商品]用了不久就出故障", "[{product}|商品]使用不久就故障"]),
        detail=L(["I've only used it as the manual says.", "It's still well within the warranty."],
                 ["一直都是按说明书正常使用的。", "还在保修期内。"]),
        fixes=(Fix(
            demand=L("repair it under warranty", "保修期内免费维修"),
            ask=L(["It's still under warranty, so fix it.", "Please repair it under the warranty.",
                   "I expect a free repair."],
                  ["还在保修期内，请免费维修。", "要求保修。", "赶紧安排人来修"]),
            act=L(["We will arrange a free warranty repair, with a technician visit within 3 "
                   "business days.",
                   "Your[ {product}| product] is covered by the warranty, so a technician will "
                   "repair it free of charge within 3 business days.",
                   "I've opened a free warranty repair for your[ {product}| product], and a "
                   "technician will visit within 3 business days."],
                  ["我们会为您安排免费保修维修，3个工作日内安排师傅上门。",
                   "您的[{product}|商品]在保修期内，我们将免费维修，3个工作日内师傅上门。",
                   "已为您的[{product}|商品]登记免费保修，维修师傅会在3个工作日内上门。"]),
            step=L(["Please have your proof of purchase ready for the technician.",
                    "Please keep your receipt or order confirmation handy for the visit.",
                    "The technician will need your proof of purchase, so please have it ready."],
                   ["请准备好购买凭证，师傅上门时需要查看。", "请备好发票或订单截图，方便师傅核对。",
                    "师傅上门时需要购买凭证，请提前准备。"])),)),
    Issue(
        "product_quality", "overheating", HIGH, id_kind="order",
        products=L(["power bank", "phone charger", "electric kettle", "hair dryer", "space heater",
                    "electric blanket"],
                   ["充电宝", "充电器", "电热水壶", "吹风机", "电暖器", "电热毯"]),
        say=L(["The {product} gets extremely hot when I use it.",
               "My {product} started smelling of burning plastic.",
               "The {product} overheats so much I can't touch it."],
              ["{product}一用就特别烫。", "{product}用的时候有一股烧焦的塑料味。",
               "{product}发热严重，手都不敢碰。"]),
        concern=L(["[your {product}|your product] overheating",
                   "[the overheating {product}|the overheating product]",
                   "the overheating problem"],
                  ["[{product}|产品]过热", "[{product}|产品]严重过热", "[{product}|产品]发热过烫"]),
        detail=L(["It's the one I bought from your official store.",
                  "I only used it for ten minutes."],
                 ["是在你们官方旗舰店买的。", "才用了十分钟左右。"]),
        safety=Safety(
            say=L(["It actually sparked and nearly set my desk on fire!",
                   "There was smoke coming out of it last night.",
                   "It melted the plug socket, this is a fire hazard!"],
                  ["昨晚还冒烟了，差点着火！", "插头都烧黑了，这是安全隐患啊！", "用的时候还冒火花，太吓人了！"]),
            step=L(["Please stop using it and keep it unplugged until it is collected.",
                    "For your safety, please unplug it and don't use it again.",
                    "Please unplug it right away and do not use it again."],
                   ["为了您的安全，请立即停止使用并拔掉电源。", "请不要再使用，并保持断电状态。",
                    "请马上断电，不要再继续使用。"])),
        step=L(["Please don't use the faulty unit in the meantime.",
                "Please stop using the faulty one until then.",
                "In the meantime, please don't use the faulty unit."],
               ["在此之前请不要再使用有问题的产品。", "期间请停止使用故障产品。", "这段时间请先不要使用。"]),
        fixes=(
            Fix(demand=L("replace it with a safe unit", "更换一个安全的新品"),
                ask=L(["Replace it with one that's safe.",
                       "I want a replacement that doesn't overheat.", "Send me a new one."],
                      ["请给我换一个新的。", "要求换一个安全的。", "必须给我换货"]),
                act=L(["We will send you a replacement[ {product}] within 2 business days and "
                       "collect the faulty one for safety testing.",
                       "A replacement[ {product}] will ship within 2 business days, and we'll pick "
                       "up the faulty one for safety checks.",
                       "I've arranged a new[ {product}] within 2 business days, with collection of "
                       "the faulty one for safety testing."],
                      ["我们会在2个工作日内为您换发新的[{product}|产品]，并取回故障品做安全检测。",
                       "新的[{product}|产品]将在2个工作日内发出，故障品会取回做安全检测。",
                       "已为您安排换新，2个工作日内发出，原[{product}|产品]取回送检。"])),
            Fix(demand=L("full refund", "全额退款"),
                ask=L(["I want a full refund, I'm not using this again.",
                       "Refund me, I don't trust it.", "Give me my money back."],
                      ["我要全额退款，不敢再用了。", "直接退款。", "把钱退给我"]),
                act=L(["We will collect the[ {product}| product] free of charge and refund you in "
                       "full within 3-5 business days.",
                       "The[ {product}| product] will be collected for free, and you'll get a full "
                       "refund within 3-5 business days.",
                       "I've arranged free collection of the[ {product}| product] and a full "
                       "refund within 3-5 business days."],
                      ["我们会免费上门取回[{product}|产品]，并在3-5个工作日内全额退款。",
                       "[{product}|产品]会免费取回，3-5个工作日内全额退款。",
                       "已安排免费取回[{product}|产品]，3-5个工作日内为您全额退款。"])))),
    Issue(
        "product_quality", "not_as_described", LOW, id_kind="order",
        products=L(["winter jacket", "sofa cover", "dress", "duvet cover", "backpack", "handbag"],
                   ["羽绒服", "沙发套", "连衣裙", "被套", "双肩包", "手提包"]),
        say=L(["The {product} looks nothing like the photos.",
               "The website said 100% cotton but the {product} is clearly polyester.",
               "I ordered the {product} in navy and got a bright blue one in the wrong size."],
              ["收到的{product}和图片完全不一样。", "页面写的纯棉，结果{product}明显是化纤的。",
               "买的{product}是藏青色，发来的是亮蓝色，尺码也不对。"]),
        concern=L(["[the {product}|the item] not matching the description",
                   "[the {product}|the item] not matching the listing",
                   "the item not being as described"],
                  ["[{product}|商品]与描述不符", "[{product}|商品]与页面描述不符", "收到的[{product}|商品]与描述不符"]),
        detail=L(["The label inside says something different too.",
                  "I haven't worn it, tags are still on."],
                 ["里面的标签写的也不一样。", "吊牌都还在，没穿过。"]),
        fixes=(
            Fix(demand=L("return it for a refund", "退货退款"),
                ask=L(["I want to return it and get my money back.", "Refund me.",
                       "Please take it back and refund me."],
                      ["我要退货退款。", "请给我退货。", "退了吧，把钱退给我"]),
                act=L(["We will email you a free return label, and your refund will be issued "
                       "within 5 business days of the item reaching us.",
                       "A free return label is on its way by email, and we'll refund you within 5 "
                       "business days of receiving the item.",
                       "I've sent you a free return label, and the refund follows within 5 "
                       "business days after the item arrives back with us."],
                      ["我们会给您发送免费退货单，商品寄回后5个工作日内为您退款。",
                       "免费退货单已发送给您，收到退货后5个工作日内退款。",
                       "已为您开通免费退货，商品寄回后5个工作日内退款。"]),
                step=L(["Please pack the item with its tags and drop it off using the label.",
                        "Please return the item with its tags attached using that label.",
                        "Just pack it with the tags on and send it back with the label."],
                       ["请保留吊牌，按退货单寄回即可。", "寄回时请保持吊牌完好。",
                        "请带吊牌打包，按退货单寄回。"])),
            Fix(demand=L("exchange it for the right item", "换成正确的商品"),
                ask=L(["Swap it for what I actually ordered.", "Send me the right one.",
                       "I want the correct item."],
                      ["请换成我下单的那款。", "给我换成正确的。", "要求换货"]),
                act=L(["We will send the correct[ {product}| item] within 3 business days, with a "
                       "free return label for this one.",
                       "The correct[ {product}| item] will ship within 3 business days, and you "
                       "can send this one back with a free label.",
                       "I've arranged for the correct[ {product}| item] to ship within 3 business "
                       "days, plus a free return label for the wrong one."],
                      ["我们会在3个工作日内为您发出正确的[{product}|商品]，并提供免费退货单。",
                       "正确的[{product}|商品]将在3个工作日内发出，错发的可免费寄回。",
                       "已安排3个工作日内补发正确的[{product}|商品]，错发的凭免费退货单寄回。"]),
                step=L(["Please send the wrong item back using the label.",
                        "Please return the wrong item with the free label.",
                        "Just send the wrong item back with the label."],
                       ["请用退货单把错发的商品寄回。", "错发的商品请按退货单寄回。",
                        "请将错发商品按退货单寄回。"])))),
    Issue(
        "product_quality", "missing_parts", LOW, id_kind="order",
        products=L(["office chair", "bookshelf", "baby stroller", "drone", "desk", "bed frame"],
                   ["办公椅", "书架", "婴儿推车", "无人机", "电脑桌", "床架"]),
        say=L(["My {product} arrived without the screws, so I can't assemble it.",
               "Half the parts for the {product} are missing.",
               "The {product} box was missing several parts listed in the manual."],
              ["{product}到了，可是螺丝包没有，根本装不了。", "{product}少了好几个零件。",
               "{product}的包装里缺了说明书上列的配件。"]),
        concern=L(["[the missing parts for your {product}|the missing parts of your order]",
                   "the parts missing from your order",
                   "[your incomplete {product}|your incomplete order]"],
                  ["[{product}|商品]缺少配件", "[{product}|商品]配件缺失", "[{product}|商品]少发配件"]),
        detail=L(["I checked every bag twice.", "The parts list says there should be four bags."],
                 ["每个袋子都翻了两遍。", "清单上写的有四包零件。"]),
        fixes=(Fix(
            demand=L("send the missing parts", "补发缺少的配件"),
            ask=L(["Please send the missing parts.", "Send me what's missing.",
                   "I need the rest of the parts."],
                  ["请把缺的配件补发给我。", "要求补发零件。", "赶紧把少的零件寄过来"]),
            act=L(["We will ship the missing parts to you by express within 2 business days.",
                   "The missing parts will be sent by express delivery within 2 business days.",
                   "I've arranged express shipping of the missing parts within 2 business days."],
                  ["我们会在2个工作日内用快递为您补发缺少的配件。", "缺少的配件将在2个工作日内加急寄出。",
                   "已安排2个工作日内快递补发缺失的零件。"]),
            step=L(["Please reply with a photo of the parts list marking what's missing.",
                    "Could you send a photo of the parts list with the missing items marked?",
                    "Please mark the missing items on the parts list and send us a photo."],
                   ["请拍一下配件清单并标出缺少的部分发给我们。", "麻烦在配件清单上标出缺少的零件并拍照发来。",
                    "请把缺件在清单上圈出来，拍照回复我们。"])),)),
]

SERVICE_ATTITUDE = [
    Issue(
        "service_attitude", "rude_phone_agent", LOW,
        say=L(["The agent I spoke to on your hotline was rude and hung up on me.",
               "I called your helpline on {date} and the person laughed at me and ended the call.",
               "Your phone agent shouted at me when I asked a simple question."],
              ["{date}打你们客服热线，客服态度特别差，还直接挂我电话。", "你们的电话客服说话阴阳怪气，问两句就不耐烦了。",
               "客服在电话里冲我吼，这是什么服务态度？"]),
        concern=L(["the way you were treated on our hotline", "your call with our support agent",
                   "the agent's behaviour on your call"],
                  ["电话客服态度差", "电话客服的服务态度", "热线电话客服态度差"]),
        detail=L(["The agent said her name was {pinyin}.", "The call was {time}."],
                 ["客服工号是{staff}。", "大概是{time}打的电话。"]),
        fixes=(Fix(
            demand=L("investigate the agent's behaviour", "调查并处理该客服"),
            ask=L(["I want this agent's behaviour looked into.",
                   "Please investigate and deal with this agent.",
                   "Someone needs to take responsibility for how I was treated."],
                  ["请调查一下这个客服。", "要求严肃处理这名客服。", "希望你们给个处理结果"]),
            act=L(["We will review the call recording and address the agent's behaviour with their "
                   "team leader within 3 business days.",
                   "I've requested the call recording, and the agent's team leader will deal with "
                   "it within 3 business days.",
                   "Our quality team will check the recording and take it up with the agent's "
                   "manager within 3 business days."],
                  ["我们会调取通话录音核实，3个工作日内由其主管严肃处理。",
                   "已申请调取录音，该客服的主管会在3个工作日内处理此事。",
                   "质检团队会核查通话录音，3个工作日内与该客服主管一起处理。"]),
            step=L(["We will let you know what action was taken once the review is complete.",
                    "You'll hear from us about the outcome once the review is done.",
                    "We'll tell you the outcome as soon as the review is finished."],
                   ["核查结束后我们会把处理结果告知您。", "处理完成后会把结果反馈给您。",
                    "核查完毕后我们会第一时间告诉您结果。"])),)),
    Issue(
        "service_attitude", "rude_store_staff", LOW,
        say=L(["The staff at your {city} store ignored me for 20 minutes and then were rude.",
               "A shop assistant in your {city} branch refused to help me and rolled her eyes.",
               "I was treated like a thief at your store in {city} today."],
              ["你们{city}门店的店员爱答不理，态度很差。", "今天在{city}的门店，店员不让我试，还翻白眼。",
               "在{city}门店被店员当小偷一样对待。"]),
        concern=L(["your visit to our[ {city}] store", "how you were treated in our[ {city}] store",
                   "the staff behaviour at our[ {city}] store"],
                  ["[{city}]门店店员态度差", "[{city}]门店店员服务态度", "门店店员态度差"]),
        detail=L(["It happened {time}.", "There were hardly any other customers."],
                 ["大概是{time}。", "当时店里也没几个客人。"]),
        fixes=(Fix(
            demand=L("address the staff's behaviour", "处理门店店员的态度问题"),
            ask=L(["I want the store manager to deal with this.",
                   "Please make sure the staff are spoken to.",
                   "I expect someone to look into this."],
                  ["请让店长处理一下。", "希望你们好好管管店员。", "要求给个处理结果"]),
            act=L(["We have shared your complaint with the store manager, who will look into it "
                   "and get back to you within 5 business days.",
                   "Your complaint is now with the store manager, who will investigate and reply "
                   "to you within 5 business days.",
                   "I've passed this to the store manager to investigate, and they will follow up "
                   "with you within 5 business days."],
                  ["您的投诉已转给门店店长核实处理，5个工作日内给您答复。",
                   "已将情况反馈给店长调查，5个工作日内回复您。",
                   "店长会调查此事，并在5个工作日内与您联系。"]),
            step=L(["Please reply with the date and time of your visit if you remember them.",
                    "If you remember when you visited, please reply with the date and time.",
                    "It would help if you could reply with the date and time of your visit."],
                   ["如果记得到店时间，请回复告诉我们。", "麻烦回复一下您到店的日期和时间。",
                    "请告知具体的到店时间，方便核实。"])),)),
    Issue(
        "service_attitude", "no_response", MEDIUM, id_kind="ticket",
        say=L(["I've sent {n} emails about my case and nobody has replied.",
               "My ticket has been open for two weeks with zero response.",
               "Does anyone actually read these messages? I've been waiting {n} days for an "
               "answer."],
              ["我发了{n}封邮件都没人回复。", "工单提交两周了，一点回应都没有。",
               "到底有没有人看消息啊？等了{n}天了。"]),
        concern=L(["the lack of response to your case", "not hearing back from us",
                   "your unanswered messages"],
                  ["工单长时间无人回复", "工单一直无人回复", "工单长期无人答复"]),
        detail=L(["Each time I get the same automatic reply.", "The status still says 'received'."],
                 ["每次都是同样的自动回复。", "状态一直显示“已受理”。"]),
        fixes=(Fix(
            demand=L("get a response to my case", "尽快答复并处理"),
            ask=L(["I want a real answer.", "Just get someone to deal with my case.",
                   "Please respond properly this time."],
                  ["请给我一个正式答复。", "赶紧安排人处理。", "这次请认真回复"]),
            act=L(["Your case has been assigned to a dedicated agent, who will contact you within "
                   "24 hours.",
                   "I've given your case to a dedicated agent, and they will be in touch within 24 "
                   "hours.",
                   "A dedicated agent now owns your case and will contact you within 24 hours."],
                  ["您的问题已指派专人负责，24小时内会联系您。", "已安排专属客服跟进，24小时内与您联系。",
                   "您的工单已由专人接手，24小时内给您答复。"]),
            step=L(["You can reply to this message with anything new in the meantime.",
                    "In the meantime, just reply here if anything changes.",
                    "Please reply here if there's anything new before then."],
                   ["在此期间如有新情况，可直接回复本消息。", "期间有任何变化请直接回复我们。",
                    "如有补充信息，直接回复即可。"])),)),
    Issue(
        "service_attitude", "broken_promise", MEDIUM, id_kind="ticket",
        say=L(["On {date} your agent promised to call me back within a day. Nothing.",
               "I was told a manager would contact me by Friday, that never happened.",
               "You promised to sort this last week and then just went silent."],
              ["{date}客服说一天内给我回电，结果到现在都没人打。", "说好周五前主管联系我，一直没消息。",
               "上周答应帮我处理，然后就没下文了。"]),
        concern=L(["the callback you were promised", "the follow-up we failed to give you",
                   "our promise to call you back"],
                  ["承诺的回电未兑现", "答应的回电没有兑现", "客服承诺回电未兑现"]),
        detail=L(["The agent said her name was {pinyin}.", "I waited by the phone all afternoon."],
                 ["当时客服工号是{staff}。", "我守着电话等了一下午。"]),
        fixes=(Fix(
            demand=L("call me back as promised", "按承诺回电处理"),
            ask=L(["Call me back like you said you would.", "I want the callback I was promised.",
                   "Have someone call me today."],
                  ["请按承诺给我回电。", "说好的回电呢？请尽快打给我。", "今天必须有人联系我"]),
            act=L(["A senior agent will call you back within 1 business day to finish sorting this "
                   "out.",
                   "I've booked a callback from a senior agent within 1 business day to resolve "
                   "this.",
                   "A senior member of the team will phone you within 1 business day to settle "
                   "this."],
                  ["我们会安排资深客服在1个工作日内给您回电处理。", "已预约资深客服1个工作日内回电为您解决。",
                   "1个工作日内会有资深同事致电您处理此事。"]),
            step=L(["Please reply with the best time to reach you.",
                    "Let us know when it's best to call you.",
                    "Please tell us a convenient time for the call."],
                   ["请回复方便接听电话的时间段。", "请告诉我们什么时间方便联系您。", "麻烦告知方便接电话的时间。"])),)),
    Issue(
        "service_attitude", "passed_around", LOW,
        say=L(["I was transferred {n} times today and ended up back where I started.",
               "Waited 45 minutes on hold, got passed between departments, then cut off.",
               "Every department says it's someone else's job. I've been bounced around all week."],
              ["今天电话被转了{n}次，最后又转回原点。", "排队等了45分钟，转来转去最后还断线了。",
               "每个部门都说不归他们管，踢皮球踢了一个礼拜。"]),
        concern=L(["being passed between departments", "being transferred from team to team",
                   "being bounced between our teams"],
                  ["电话被多次转接", "被多次转接", "电话被反复转接"]),
        detail=L(["Nobody even wrote down my problem.",
                  "Each person asked me to explain from the start."],
                 ["没有一个人记录我的问题。", "每个人都让我从头再说一遍。"]),
        fixes=(Fix(
            demand=L("one person to handle my case", "安排专人负责到底"),
            ask=L(["Give me one person who will actually handle this.",
                   "I want one contact for my case.",
                   "Stop passing me around."],
                  ["请安排一个人负责到底。", "别再转来转去了，找个专人处理。", "要求专人跟进"]),
            act=L(["We have assigned one case owner, who will handle your issue from start to "
                   "finish and contact you today.",
                   "One named case owner will now handle everything for you and will contact you "
                   "today.",
                   "I've made one person responsible for your case, and they will call you today."],
                  ["我们已指定专人负责您的问题，今天内会主动联系您。", "已安排一位专属负责人全程跟进，今天会联系您。",
                   "您的问题已由专人负责到底，今天内会给您来电。"]),
            step=L(["Please reply here with any updates so they reach your case owner directly.",
                    "Any updates you send in reply will go straight to your case owner.",
                    "Just reply here with anything new and it will reach your case owner."],
                   ["有新情况请直接回复，我们会转给负责人。", "后续信息直接回复即可，会直接转到负责人。",
                    "如有补充，直接回复本消息就能到负责人那里。"])),)),
]

ACCOUNT_LOGIN = [
    Issue(
        "account_login", "locked_out", MEDIUM,
        say=L(["I can't log in, it says my password is wrong even after resetting it.",
               "The password reset link you send just says 'expired'.",
               "My account is locked after too many attempts and the reset email never comes."],
              ["重置密码后还是提示密码错误，登不上去。", "你们发的重置链接点开就显示已过期。",
               "账号输错几次被锁了，重置邮件一直收不到。"]),
        concern=L(["not being able to log in", "the password reset problem",
                   "being locked out of your account"],
                  ["账号无法登录", "账号被锁无法登录", "重置密码后仍无法登录"]),
        detail=L(["I've tried on both the app and the website.", "I checked my spam folder too."],
                 ["App和网页都试过了。", "垃圾邮件箱也看过了。"]),
        fixes=(Fix(
            demand=L("reset my password", "重置密码恢复登录"),
            ask=L(["Please reset it so I can get in.", "Unlock my account.",
                   "I just need access again."],
                  ["请帮我重置密码。", "麻烦把账号解锁。", "我只想赶紧登进去"]),
            act=L(["We have unlocked your account and sent a new password reset link, valid for 24 "
                   "hours.",
                   "Your account is now unlocked, and a fresh reset link valid for 24 hours is on "
                   "its way to your email.",
                   "I've removed the lock on your account and emailed you a new reset link that "
                   "works for 24 hours."],
                  ["我们已为您解锁账号，并发送了新的重置链接，24小时内有效。",
                   "账号已解锁，新的重置链接已发到您的邮箱，24小时内有效。",
                   "已为您解除锁定，并重新发送了重置密码链接，有效期24小时。"]),
            step=L(["Please check your spam folder if you don't see it within a few minutes.",
                    "If it isn't in your inbox within a few minutes, please check your spam "
                    "folder.",
                    "Do check your spam folder if it hasn't arrived in a few minutes."],
                   ["如几分钟内没收到，请查看垃圾邮件箱。", "若收件箱里没有，请看一下垃圾邮件。",
                    "几分钟后还没收到的话，请检查垃圾邮件箱。"])),)),
    Issue(
        "account_login", "lost_2fa", HIGH,
        say=L(["I got a new phone and now I can't get the two-factor codes.",
               "My phone was stolen and the authenticator app was on it, so I'm locked out.",
               "2FA keeps asking for a code from my old phone, which I no longer have."],
              ["换了新手机，两步验证的验证码收不到了。", "手机丢了，验证器App在旧手机上，现在登不上。",
               "登录一直要旧手机的动态码，可是旧手机已经没了。"]),
        concern=L(["your two-factor authentication after changing phones",
                   "losing access to your 2FA codes",
                   "being locked out by two-factor authentication"],
                  ["两步验证无法使用", "换手机后两步验证无法使用", "两步验证码无法接收"]),
        detail=L(["I still know my password.", "My phone number is the same."],
                 ["密码我是记得的。", "手机号没变。"]),
        fixes=(Fix(
            demand=L("reset two-factor authentication", "重置两步验证"),
            ask=L(["Please reset the 2FA on my account.",
                   "Turn off two-factor so I can set it up again.",
                   "I need the 2FA reset."],
                  ["请帮我重置两步验证。", "麻烦把两步验证关掉，我重新绑定。", "要求重置2FA"]),
            act=L(["Once you confirm your identity, we will reset your two-factor authentication "
                   "within 24 hours.",
                   "After a quick identity check, your two-factor authentication will be reset "
                   "within 24 hours.",
                   "We will reset your 2FA within 24 hours as soon as your identity is verified."],
                  ["完成身份验证后，我们会在24小时内为您重置两步验证。",
                   "身份核实通过后，24小时内为您重置两步验证。",
                   "您完成身份验证后，两步验证会在24小时内重置。"]),
            step=L(["Please complete the identity check using the secure link we've emailed you.",
                    "Please use the secure link in your email to verify your identity.",
                    "To start, please verify your identity through the secure link we sent by "
                    "email."],
                   ["请通过我们发到您邮箱的安全链接完成身份验证。", "请点击邮件中的安全链接进行身份核验。",
                    "请先用邮件里的链接完成身份验证。"])),)),
    Issue(
        "account_login", "account_hacked", HIGH,
        say=L(["Someone hacked my account and changed my email address.",
               "There are orders on my account I didn't make and I can't log in anymore.",
               "I got a login alert from another country and now my password doesn't work."],
              ["我的账号被盗了，绑定邮箱都被改了。", "账号里有几笔不是我下的订单，现在还登不上了。",
               "收到异地登录提醒，然后密码就不对了。"]),
        concern=L(["the unauthorised access to your account", "your account being compromised",
                   "the suspicious activity on your account"],
                  ["账号被盗", "账号被盗用", "账号被盗登录"]),
        detail=L(["My saved card is on that account.",
                  "The alert came from an IP address overseas."],
                 ["账号里还绑着银行卡。", "提醒显示是境外IP登录的。"]),
        step=L(["Please change the password on any other accounts that use the same one.",
                "If you use the same password elsewhere, please change it there too.",
                "Please also update the password on any other account where you used it."],
               ["如其他平台使用了相同密码，请尽快修改。", "其他用同样密码的账号也请及时改密。",
                "请同时修改其他使用相同密码的账号。"]),
        fixes=(
            Fix(demand=L("secure and recover my account", "冻结并找回账号"),
                ask=L(["Lock it down and give me my account back.", "Please secure my account now.",
                       "I need my account back."],
                      ["请马上冻结账号，帮我找回来。", "要求立刻冻结账号。", "赶紧帮我把号找回来"]),
                act=L(["We have frozen your account to stop further activity and will restore your "
                       "access within 24 hours.",
                       "Your account is now frozen so nothing else can happen, and we'll give you "
                       "access back within 24 hours.",
                       "I've locked the account against further use, and you'll have access "
                       "restored within 24 hours."],
                      ["已冻结您的账号防止进一步操作，24小时内帮您恢复登录。",
                       "账号已临时冻结，24小时内为您找回并恢复使用。",
                       "已为您冻结账号，24小时内恢复您的访问权限。"])),
            Fix(demand=L("cancel the fraudulent orders", "取消被盗刷的订单"),
                ask=L(["Cancel the orders I didn't place and refund me.",
                       "I want those fake orders cancelled.",
                       "Refund the orders I never made."],
                      ["请取消不是我下的订单并退款。", "那几笔订单不是我下的，全部取消。", "盗刷的钱退给我"]),
                act=L(["We have frozen your account and will cancel the unauthorised orders and "
                       "refund them within 3-5 business days.",
                       "Your account is frozen, and the orders you didn't place will be cancelled "
                       "and refunded within 3-5 business days.",
                       "I've frozen the account and started cancelling the unauthorised orders, "
                       "with refunds within 3-5 business days."],
                      ["已冻结您的账号，非本人订单会被取消，3-5个工作日内退款。",
                       "账号已冻结，非本人订单将被取消并在3-5个工作日内退款。",
                       "已冻结账号并取消异常订单，款项3-5个工作日内退回。"])))),
    Issue(
        "account_login", "no_sms_code", MEDIUM,
        say=L(["The SMS verification code never arrives, so I can't sign in.",
               "I've requested the login code {n} times and got nothing.",
               "No verification text ever comes through to my phone."],
              ["短信验证码一直收不到，没法登录。", "点了{n}次获取验证码，一条都没收到。",
               "手机收不到验证码短信啊"]),
        concern=L(["the verification code not arriving", "not receiving your SMS login code",
                   "the missing verification texts"],
                  ["收不到短信验证码", "短信验证码收不到", "验证码短信收不到"]),
        detail=L(["Other texts come through fine.", "I have full signal."],
                 ["其他短信都能正常收到。", "手机信号是满格的。"]),
        fixes=(Fix(
            demand=L("fix the verification code problem", "解决收不到验证码的问题"),
            ask=L(["Please fix this so I can log in.", "Sort out the codes.",
                   "I need to get the code."],
                  ["请尽快解决。", "麻烦处理一下验证码的问题。", "赶紧让我能收到验证码"]),
            act=L(["We have fixed a delay with our SMS provider, and you can also choose a "
                   "voice-call code on the login page.",
                   "The SMS delay on our side has been fixed, and a voice-call code option is also "
                   "available on the login page.",
                   "I've confirmed the SMS delay is fixed, and you can pick a voice-call code on "
                   "the login page as well."],
                  ["短信通道的延迟已修复，您也可以在登录页选择语音验证码。",
                   "短信延迟问题已处理好，登录页也可以改用语音验证码。",
                   "验证码短信已恢复正常，也可在登录页选择语音验证。"]),
            step=L(["Please try again in 30 minutes and let us know if it still fails.",
                    "Please try again in 30 minutes, and reply if the code still doesn't arrive.",
                    "Give it another try in 30 minutes and tell us if it still doesn't work."],
                   ["请30分钟后再试，如仍收不到请回复我们。", "麻烦30分钟后重试，还不行请告诉我们。",
                    "请半小时后再试一次，有问题随时回复。"])),)),
    Issue(
        "account_login", "account_suspended", MEDIUM,
        say=L(["My account was suspended without any explanation.",
               "You banned my account for 'suspicious activity' but I did nothing wrong.",
               "I can't access my account, it says it's suspended for violating the terms."],
              ["账号莫名其妙被封了，也没有任何说明。", "说我“异常操作”把账号封了，我什么都没做啊。",
               "登录提示账号因违规被冻结，可我没有违规。"]),
        concern=L(["your suspended account", "the suspension of your account",
                   "your account being blocked"],
                  ["账号被封", "账号被封禁", "账号无故被封"]),
        detail=L(["I've had this account for {n} years.",
                  "My balance and order history are in there."],
                 ["这个号我用了{n}年了。", "里面还有余额和订单记录。"]),
        fixes=(Fix(
            demand=L("restore my account", "解封账号"),
            ask=L(["Unblock my account.", "Please restore my account.", "Give me my account back."],
                  ["请给我解封。", "要求恢复账号。", "赶紧把号解封"]),
            act=L(["We will review the suspension within 2 business days and restore your account "
                   "if it was made in error.",
                   "Our team will look at the suspension within 2 business days and lift it if it "
                   "was a mistake.",
                   "I've asked for a review of the suspension within 2 business days, and your "
                   "account will be restored if it was wrong."],
                  ["我们会在2个工作日内复核封禁原因，如属误封将立即解封。",
                   "2个工作日内会完成复核，确认误封后马上为您恢复。",
                   "已提交封号复核，2个工作日内给出结果，误封会及时解除。"]),
            step=L(["Please reply with anything that could help the review, such as recent "
                    "activity.",
                    "If there's anything that would help the review, please reply with it.",
                    "Please send us any details that might help the review."],
                   ["如有有助于复核的信息，请回复我们。", "麻烦提供近期的使用情况，方便复核。",
                    "请回复可以帮助复核的相关信息。"])),)),
]

REFUND = [
    Issue(
        "refund", "refund_not_received", MEDIUM, id_kind="order", amount=True,
        say=L(["You approved my refund of {amt} on {date} and I still haven't received it.",
               "Still no refund. It's been {n} days since you confirmed it.",
               "Where is my {amt} refund? Your email said 3-5 days and it's been two weeks."],
              ["{date}就说退款{amt}审核通过了，到现在也没到账。", "确认退款都{n}天了，钱还没退回来。",
               "我的{amt}退款呢？说3-5天到账，现在都两周了。"]),
        concern=L(["your refund that hasn't arrived", "the delayed refund[ of {amt}]",
                   "your outstanding refund"],
                  ["退款[{amt}]迟迟未到账", "退款[{amt}]未到账", "退款[{amt}]一直未到账"]),
        detail=L(["My bank says nothing has come in.", "The order page says 'refunded'."],
                 ["银行说没有收到任何款项。", "订单页面显示“已退款”。"]),
        fixes=(Fix(
            demand=L("receive the approved refund", "尽快退款到账"),
            ask=L(["I want my money.", "Please send my refund.", "Sort out my refund now."],
                  ["请尽快把钱退给我。", "要求马上退款到账。", "钱什么时候退？赶紧处理"]),
            act=L(["We are tracing the refund[ of {amt}] with our payments team and will confirm "
                   "where it is within 2 business days.",
                   "Our payments team is tracing your refund[ of {amt}], and we'll confirm its "
                   "status within 2 business days.",
                   "I've asked our payments team to trace the refund[ of {amt}], and you'll have "
                   "an answer within 2 business days."],
                  ["我们正在与支付部门核查这笔[{amt}]退款，2个工作日内给您确认结果。",
                   "支付团队正在追查您的[{amt}]退款，2个工作日内告知您进度。",
                   "已请财务部门追踪这笔[{amt}]退款，2个工作日内给您答复。"]),
            step=L(["If the refund shows up in the meantime, please let us know.",
                    "Please tell us if the money arrives before then.",
                    "If you see the refund before then, just let us know."],
                   ["如在此期间到账，请告诉我们。", "如果期间已经到账，麻烦告知一声。", "若提前到账，请回复我们。"])),)),
    Issue(
        "refund", "refund_rejected", LOW, id_kind="order",
        say=L(["Your team rejected my return even though it's within 30 days.",
               "My refund request was denied with no reason given.",
               "You refused my refund because the box was opened?? How else do I check it?"],
              ["明明在7天无理由退货期内，你们却拒绝了我的退款。", "退款申请被驳回，连个理由都没有。",
               "因为拆了包装就不给退？不拆怎么知道好坏？"]),
        concern=L(["your rejected refund request", "the refusal of your refund",
                   "our decision on your refund"],
                  ["退款申请被拒", "退款申请被驳回", "退款申请被拒绝"]),
        detail=L(["The item is unused.", "I sent it back with everything in the box."],
                 ["东西完全没用过。", "所有配件都原样寄回了。"]),
        fixes=(Fix(
            demand=L("reconsider my refund", "重新审核退款申请"),
            ask=L(["Please review it again.", "I want the decision reversed.",
                   "Reconsider my refund."],
                  ["请重新审核。", "要求撤销驳回决定。", "重新给我审一下"]),
            act=L(["A senior team member will review your refund request again and give you a "
                   "decision within 2 business days.",
                   "Your refund request will be looked at again by a senior colleague, with a "
                   "decision within 2 business days.",
                   "I've sent your refund for a second review by a senior colleague, who will "
                   "decide within 2 business days."],
                  ["我们会安排资深专员重新审核您的退款申请，2个工作日内给您结果。",
                   "您的退款申请将由资深同事复核，2个工作日内给出答复。",
                   "已提交退款复审，资深专员会在2个工作日内给您结果。"]),
            step=L(["Please reply with any photos or receipts you'd like included in the review.",
                    "If you have photos or receipts, please reply with them for the review.",
                    "Feel free to reply with photos or receipts to support the review."],
                   ["如有照片或凭证，请回复给我们一并审核。", "有相关照片或单据的话，请发给我们。",
                    "请提供照片或凭证，便于复核。"])),)),
    Issue(
        "refund", "partial_refund", LOW, id_kind="order", amount=True,
        say=L(["You only refunded {amt2} of my order, I'm still owed {amt}.",
               "I got a partial refund and {amt} is still missing.",
               "The refund was {amt} short of what I paid."],
              ["只退了我{amt2}，还差{amt}没退。", "退款只退了一部分，还有{amt}没到。",
               "退的钱比我付的少了{amt}。"]),
        concern=L(["the rest of your refund", "the missing part[ ({amt})] of your refund",
                   "your incomplete refund"],
                  ["退款少退[{amt}|了钱]", "退款金额少退[{amt}|了钱]", "退款没有退全"]),
        detail=L(["Nobody told me about any deduction.", "I returned everything unused."],
                 ["也没人说要扣什么钱。", "东西全部原样退回了。"]),
        fixes=(Fix(
            demand=L("refund the remaining amount", "退还剩余款项"),
            ask=L(["Refund the rest.", "I want the remaining amount back.",
                   "Pay me the difference."],
                  ["请把剩下的钱退给我。", "要求退还差额。", "剩下的钱赶紧退"]),
            act=L(["We will refund the remaining[ {amt}| amount] to your original payment method "
                   "within 3-5 business days.",
                   "The remaining[ {amt}| amount] will be refunded to your original payment method "
                   "within 3-5 business days.",
                   "I've arranged for the outstanding[ {amt}| amount] to go back to your original "
                   "payment method within 3-5 business days."],
                  ["我们会在3-5个工作日内将剩余的[{amt}|款项]原路退回。", "剩余[{amt}|款项]将在3-5个工作日内退回原支付账户。",
                   "已为您补退剩余[{amt}|款项]，3-5个工作日内原路到账。"]),
            step=_REFUND_STEP),)),
    Issue(
        "refund", "return_not_collected", LOW, id_kind="order",
        say=L(["The courier never came to pick up my return on {date}.",
               "I booked a return collection twice and nobody showed up.",
               "Still waiting for the return pickup, the box is taking up my hallway."],
              ["约好{date}上门取件，快递员根本没来。", "预约了两次退货取件都没人来。",
               "退货一直没人来取，箱子堆在家里。"]),
        concern=L(["the missed return pickup", "your return collection",
                   "the return that hasn't been collected"],
                  ["退货取件未上门", "退货取件一直没上门", "退货无人上门取件"]),
        detail=L(["I waited in all day.", "I got no message or call."],
                 ["我在家等了一整天。", "没有短信也没有电话。"]),
        fixes=(Fix(
            demand=L("arrange the return pickup", "安排上门取件"),
            ask=L(["Send someone to collect it.", "Rebook the pickup.", "Just come and get it."],
                  ["请安排人来取。", "麻烦重新预约取件。", "赶紧来把东西拿走"]),
            act=L(["We have rebooked the collection within the next 2 business days, and your "
                   "refund will be issued once the item reaches us.",
                   "A new pickup is booked within 2 business days, and we'll refund you as soon as "
                   "the item arrives back.",
                   "I've rescheduled the collection within 2 business days, with your refund "
                   "issued when we receive the item."],
                  ["我们已重新预约2个工作日内上门取件，收到退货后即为您退款。",
                   "已安排2个工作日内重新取件，商品寄回后马上退款。",
                   "取件已改约到2个工作日内，收到商品后为您退款。"]),
            step=L(["You'll get a text with the pickup time the day before.",
                    "We'll text you the pickup time the day before.",
                    "A text with the collection time will reach you the day before."],
                   ["取件前一天会短信通知您具体时间。", "前一天会有短信告知取件时间。",
                    "取件时间会提前一天短信通知。"])),)),
    Issue(
        "refund", "refund_as_voucher", LOW, id_kind="order", amount=True,
        say=L(["You refunded my {amt} as store credit, I never asked for that.",
               "Why did I get a voucher instead of my money back?",
               "I paid by card and you gave me a {amt} gift card as a 'refund'."],
              ["我的{amt}退款怎么变成了购物券？我没同意啊。", "为什么退给我的是优惠券，不是原路退回？",
               "我是刷卡付的，你们却退了{amt}的礼品卡。"]),
        concern=L(["your refund being issued as store credit",
                   "the voucher you received instead of a refund",
                   "your refund[ of {amt}] paid as a voucher"],
                  ["退款变成购物券", "退款被退成购物券", "[{amt}]退款变成购物券"]),
        detail=L(["I don't shop with you often enough to use it.",
                  "The voucher expires in a month."],
                 ["我不常买，券根本用不上。", "券一个月就过期。"]),
        fixes=(Fix(
            demand=L("refund to my original payment method", "原路退回退款"),
            ask=L(["Refund it to my card.", "I want real money back.", "Put it back on my card."],
                  ["请原路退回。", "我要退现金不要券。", "把钱退到我卡上"]),
            act=L(["We will cancel the store credit and refund[ the {amt}| the money] to your "
                   "original payment method within 5 business days.",
                   "The store credit will be cancelled, and[ {amt}| the money] will go back to "
                   "your original payment method within 5 business days.",
                   "I've cancelled the voucher and arranged for[ {amt}| the money] to be refunded "
                   "to your original payment method within 5 business days."],
                  ["我们会撤销购物券，5个工作日内将[{amt}|款项]原路退回。", "购物券将被撤销，[{amt}|款项]5个工作日内退回原支付方式。",
                   "已为您撤回礼品卡，[{amt}|款项]5个工作日内原路退回。"]),
            step=L(["Please don't use the voucher in the meantime so the refund can go through.",
                    "To let the refund go through, please don't use the voucher meanwhile.",
                    "Please leave the voucher unused so the refund can be processed."],
                   ["在此期间请不要使用购物券，以免影响退款。", "请先不要使用该券，以便退款顺利处理。",
                    "退款期间请勿使用购物券。"])),)),
]

NETWORK_OUTAGE = [
    Issue(
        "network_outage", "total_outage", HIGH, id_kind="account",
        say=L(["My internet has been completely down for {n} days in {city}.",
               "No broadband at all since {date}. The router lights are red.",
               "Internet dead since yesterday morning, and your status page says everything is "
               "fine."],
              ["我在{city}，宽带已经断了{n}天了。", "从{date}开始就完全没网，光猫灯一直红着。",
               "家里网断了一整天了，你们官网还显示一切正常？"]),
        concern=L(["your internet outage", "the loss of your broadband service",
                   "your connection being down"],
                  ["宽带断网", "宽带完全断网", "宽带中断断网"]),
        detail=L(["I've already restarted the router several times.",
                  "My neighbours have the same problem."],
                 ["路由器重启好几次了。", "隔壁邻居家也断了。"]),
        safety=Safety(
            say=L(["My elderly father relies on an internet-connected medical alarm.",
                   "My mum is on home oxygen and her monitoring alarm needs the connection."],
                  ["家里老人的紧急呼叫器要联网，现在用不了，万一出事怎么办！", "我爸在家用的医疗监护设备需要联网！"]),
            step=L(["Until it's restored, please keep a charged mobile phone next to him for "
                    "emergencies.",
                    "In the meantime, please make sure a charged mobile phone is close by for "
                    "emergencies.",
                    "Until then, please keep a charged mobile phone within reach in case of "
                    "emergency."],
                   ["恢复前请确保老人身边有可用的手机以备紧急情况。", "在此期间请在老人身边备好有电的手机，以防万一。",
                    "恢复之前请务必给老人准备一部能打电话的手机应急。"])),
        fixes=(Fix(
            demand=L("restore my internet", "尽快恢复网络"),
            ask=L(["Get it fixed today.", "I need my internet back.",
                   "Please restore the service."],
                  ["今天必须修好。", "请尽快恢复网络。", "赶紧派人来修"]),
            act=L(["We have booked a technician to restore your connection within 24 hours.",
                   "A technician is booked to visit and get you back online within 24 hours.",
                   "I've arranged a technician visit to restore your service within 24 hours."],
                  ["我们已安排维修师傅24小时内上门恢复您的网络。", "维修人员会在24小时内上门，为您恢复网络。",
                   "已为您预约师傅24小时内上门抢修。"]),
            step=L(["The technician will call you beforehand to confirm the visit time.",
                    "You'll get a call from the technician before the visit to confirm the time.",
                    "The technician will phone ahead to agree the time with you."],
                   ["师傅上门前会先给您打电话确认时间。", "上门前师傅会电话联系您约时间。", "维修师傅会提前致电确认上门时间。"])),)),
    Issue(
        "network_outage", "slow_speed", LOW, id_kind="account",
        plans=L(["500 Mbps", "1 Gbps fibre", "Fibre 300"], ["500M宽带", "千兆光纤", "300M套餐"]),
        say=L(["I'm paying for {plan} but speed tests show barely 20 Mbps.",
               "The WiFi is painfully slow every evening.",
               "My internet is ten times slower than what I pay for."],
              ["我办的{plan}，测速才20M。", "每天晚上WiFi都慢得要死。", "网速比套餐说的慢了十倍。"]),
        concern=L(["your slow internet speed", "the speed problem on your line",
                   "your connection being slow"],
                  ["宽带网速慢", "网速太慢", "宽带网速不达标"]),
        detail=L(["Even a wired connection is slow.", "Videos keep buffering."],
                 ["插网线也一样慢。", "看视频一直在缓冲。"]),
        fixes=(Fix(
            demand=L("fix the slow speed", "解决网速慢的问题"),
            ask=L(["I want the speed I'm paying for.", "Please fix the speed.",
                   "Sort out my connection."],
                  ["请把网速恢复正常。", "要求达到套餐速度。", "赶紧解决网速问题"]),
            act=L(["We will run a remote line test today and send a technician within 48 hours if "
                   "the fault is on our side.",
                   "Our team will test your line remotely today and book a technician within 48 "
                   "hours if needed.",
                   "I've scheduled a remote line test for today, with a technician visit within 48 "
                   "hours if the problem is ours."],
                  ["我们今天会远程检测线路，如是我方故障，48小时内安排师傅上门。",
                   "今天会为您做远程线路测试，需要的话48小时内上门处理。",
                   "已安排今天远程测速排查，若为线路问题48小时内派人维修。"]),
            step=L(["Please run a wired speed test and send us a screenshot.",
                    "Could you do a speed test over a cable and send us a screenshot?",
                    "Please send us a screenshot of a wired speed test."],
                   ["请用网线连接测速，并把截图发给我们。", "麻烦插网线测一次速，截图回复我们。",
                    "请发一张有线测速的截图给我们。"])),)),
    Issue(
        "network_outage", "connection_drops", MEDIUM, id_kind="account",
        say=L(["My WiFi drops out every hour or so.",
               "The connection keeps cutting out in the middle of video calls.",
               "The internet disconnects about 10 times a day."],
              ["WiFi每隔一小时就掉线一次。", "视频会议开着开着就断网。", "一天掉线十几次，根本没法用"]),
        concern=L(["your connection dropping out", "the frequent disconnections",
                   "your unstable connection"],
                  ["网络频繁掉线", "宽带频繁掉线", "网络经常掉线"]),
        detail=L(["It started after the storm last week.", "The router reboots itself."],
                 ["上周下暴雨之后就开始了。", "路由器会自己重启。"]),
        fixes=(Fix(
            demand=L("stop the connection dropping", "解决频繁掉线"),
            ask=L(["Make it stable.", "Fix the dropouts.", "I need a connection that stays up."],
                  ["请解决掉线问题。", "麻烦彻底修好。", "网络必须稳定"]),
            act=L(["We will send you a replacement router within 2 business days and monitor your "
                   "line for a week.",
                   "A new router will be sent within 2 business days, and we'll watch your line "
                   "for a week.",
                   "I've ordered a replacement router for delivery within 2 business days, plus a "
                   "week of line monitoring."],
                  ["我们会在2个工作日内为您更换新路由器，并对线路监测一周。",
                   "新路由器2个工作日内寄出，同时会监控线路一周。",
                   "已为您申请更换路由器，2个工作日内送达，并持续监测线路一周。"]),
            step=L(["Please keep the old router so the courier can swap it.",
                    "Please hand the old router to the courier when the new one arrives.",
                    "Please keep the old router ready to swap when the new one arrives."],
                   ["请保留旧路由器，快递员会上门更换。", "新设备到时请把旧路由器交给快递员。",
                    "请备好旧路由器以便更换。"])),)),
    Issue(
        "network_outage", "no_mobile_signal", MEDIUM,
        say=L(["There's no mobile signal in my flat since last week.",
               "My phone shows 'No Service' at home in {city}.",
               "Mobile data hasn't worked for {n} days, and calls drop constantly."],
              ["家里手机一点信号都没有，已经一周了。", "在{city}家里手机一直显示无服务。",
               "手机流量{n}天都用不了，打电话也老断。"]),
        concern=L(["the lack of mobile signal at your home", "your mobile service not working",
                   "the signal problem at your home"],
                  ["家中手机无信号", "家里手机没有信号", "手机在家无信号"]),
        detail=L(["My SIM works fine at the office.",
                  "My whole family's phones have the same problem."],
                 ["在公司信号是正常的。", "家里人的手机都一样。"]),
        fixes=(Fix(
            demand=L("fix my mobile signal", "恢复手机信号"),
            ask=L(["Please fix the signal.", "I need my phone to work at home.",
                   "Fix the coverage."],
                  ["请尽快恢复信号。", "麻烦处理一下信号问题。", "赶紧修好基站"]),
            act=L(["Our network team will check the nearby cell tower and update you within 48 "
                   "hours.",
                   "I've asked our network engineers to inspect the local cell tower, with an "
                   "update for you within 48 hours.",
                   "The network team is checking the cell tower near you and will report back "
                   "within 48 hours."],
                  ["网络部门会排查您附近的基站，48小时内给您答复。", "已安排工程师检查附近基站，48小时内告知结果。",
                   "我们正在检测周边基站，48小时内反馈处理进展。"]),
            step=L(["In the meantime, you can turn on WiFi calling in your phone settings.",
                    "Meanwhile, switching on WiFi calling in your settings will keep calls "
                    "working.",
                    "Until then, please turn on WiFi calling in your phone's settings."],
                   ["在此期间可在手机设置中开启WiFi通话。", "期间可以先打开手机的WiFi通话功能。",
                    "恢复前建议在设置里开启WiFi通话。"])),)),
    Issue(
        "network_outage", "technician_no_show", MEDIUM, id_kind="ticket",
        say=L(["I took the day off work and your technician never showed up.",
               "The installer was booked for {date} between 9 and 12. Nobody came, nobody called.",
               "This is the second missed appointment for my broadband installation."],
              ["我请了一天假在家等，师傅根本没来。", "约的{date}上午装宽带，没人来也没人打电话。",
               "这是第二次约好上门又放鸽子了。"]),
        concern=L(["the missed technician appointment", "our technician not turning up",
                   "your missed installation visit"],
                  ["维修师傅未按约上门", "师傅未按约上门", "上门师傅爽约未到"]),
        detail=L(["Nobody answered the number on the booking.", "I had to cancel plans for it."],
                 ["预约单上的电话打过去没人接。", "为了等师傅我推掉了其他事。"]),
        fixes=(Fix(
            demand=L("reschedule the technician visit", "重新安排师傅上门"),
            ask=L(["Rebook it for the earliest slot.", "Send someone who will actually turn up.",
                   "Give me a new appointment."],
                  ["请重新安排最早的时间上门。", "这次务必准时来。", "重新约个时间"]),
            act=L(["We have rebooked your visit for the earliest available slot and will confirm "
                   "it by text within 24 hours.",
                   "Your visit is rebooked for the first available slot, with a text confirmation "
                   "within 24 hours.",
                   "I've moved you to the earliest slot we have and will text you the details "
                   "within 24 hours."],
                  ["我们已为您改约最早的上门时间，24小时内短信确认。", "已重新预约最近的时段，24小时内短信告知具体时间。",
                   "已优先改约上门，24小时内发短信确认。"]),
            step=L(["Please reply with any times that don't work for you.",
                    "If some times don't suit you, please reply and tell us.",
                    "Let us know by reply if any times are not convenient."],
                   ["如有不方便的时间段，请回复告诉我们。", "哪些时间不方便请提前告知。", "有不方便的时段请直接回复。"])),)),
]

INSURANCE_CLAIM = [
    Issue(
        "insurance_claim", "claim_delayed", MEDIUM, id_kind="claim",
        say=L(["I submitted my claim {n} weeks ago and haven't heard anything.",
               "My car insurance claim has been 'under review' since {date}.",
               "What's happening with my claim? No updates for a month."],
              ["理赔申请交了{n}周了，一直没消息。", "车险理赔从{date}起就一直显示审核中。",
               "我的理赔到底怎么样了？一个月都没进展。"]),
        concern=L(["the delay with your claim", "your claim's progress", "your pending claim"],
                  ["理赔进度延迟", "理赔进度缓慢", "理赔迟迟没有进展"]),
        detail=L(["I sent every document you asked for.",
                  "The garage is waiting to start repairs."],
                 ["要求的材料我全都交了。", "修理厂还等着开工。"]),
        fixes=(Fix(
            demand=L("speed up my claim", "加快理赔进度"),
            ask=L(["Speed it up.", "I want a decision on my claim.",
                   "Please move my claim forward."],
                  ["请加快处理。", "尽快给我理赔结果。", "赶紧推进一下"]),
            act=L(["We have escalated your claim to a senior claims handler, who will update you "
                   "within 3 business days.",
                   "Your claim is now with a senior claims handler, and you'll get an update "
                   "within 3 business days.",
                   "I've escalated the claim to a senior handler, who will contact you with an "
                   "update within 3 business days."],
                  ["您的理赔已升级给资深理赔专员，3个工作日内给您进展答复。",
                   "已转交资深理赔员优先处理，3个工作日内告知进度。",
                   "已为您加急理赔，资深专员会在3个工作日内联系您。"]),
            step=L(["Your handler will tell you directly if anything else is needed.",
                    "If anything else is needed, your handler will contact you directly.",
                    "Your handler will be in touch directly if they need anything more."],
                   ["如需补充材料，专员会直接联系您。", "需要其他资料的话专员会直接告知。",
                    "如有需要补充的，专员会直接与您联系。"])),)),
    Issue(
        "insurance_claim", "claim_denied", MEDIUM, id_kind="claim",
        say=L(["You denied my claim saying it's not covered, but my policy clearly covers water "
               "damage.",
               "My claim was rejected with a one-line letter.",
               "How is a broken phone screen not covered under accidental damage?"],
              ["你们拒赔说不在保障范围，可保单上写明了包含水渍险。", "理赔被拒，就给了一句话的通知。",
               "意外险不赔意外？手机屏摔碎了凭什么拒赔？"]),
        concern=L(["the decision on your claim", "your denied claim",
                   "the rejection of your claim"],
                  ["理赔被拒", "理赔申请被拒", "理赔被拒赔"]),
        detail=L(["I've paid my premium for {n} years.", "The policy wording is on page 4."],
                 ["保费我交了{n}年了。", "保单第4页写得很清楚。"]),
        fixes=(Fix(
            demand=L("review the denied claim", "重新审核被拒的理赔"),
            ask=L(["I want the decision reviewed.", "Please reassess my claim.",
                   "Overturn this decision."],
                  ["要求重新审核。", "请复核我的理赔。", "这个决定必须重新看"]),
            act=L(["We will have your claim independently reviewed and send you a written decision "
                   "within 10 business days.",
                   "Your claim will get an independent review, with a written decision within 10 "
                   "business days.",
                   "I've requested an independent review of your claim, and the written outcome "
                   "will follow within 10 business days."],
                  ["我们会安排独立复核，并在10个工作日内给您书面结论。", "您的理赔将进入独立复核，10个工作日内书面答复。",
                   "已申请对您的理赔进行独立复审，10个工作日内寄送书面结果。"]),
            step=L(["Please reply with any extra evidence, such as photos or reports.",
                    "If you have more evidence, like photos or reports, please reply with it.",
                    "Please send any additional evidence, such as photos or reports, in reply."],
                   ["如有照片或报告等补充证据，请回复给我们。", "有其他证明材料的话请一并提供。",
                    "请补充照片、报告等相关证据。"])),)),
    Issue(
        "insurance_claim", "payout_too_low", LOW, id_kind="claim", amount=True,
        say=L(["You offered me {amt} for my claim, that doesn't even cover half the repair.",
               "The settlement of {amt} is way below the quote from the garage.",
               "Only {amt}? The repair estimate was three times that."],
              ["理赔只给我{amt}，连维修费的一半都不够。", "定损{amt}，跟修理厂的报价差太多了。",
               "才赔{amt}？维修报价是这个的三倍。"]),
        concern=L(["the payout offered[ ({amt})] on your claim",
                   "the settlement amount on your claim",
                   "your claim payout"],
                  ["理赔金额[（{amt}）]偏低", "理赔赔付金额偏低", "理赔金额过低"]),
        detail=L(["I have two quotes from different garages.", "The damage photos are in the app."],
                 ["我有两家修理厂的报价。", "损失照片都传到App里了。"]),
        fixes=(Fix(
            demand=L("reassess the payout", "重新核定赔付金额"),
            ask=L(["Reassess it properly.", "I want a fair payout.",
                   "Please look at the amount again."],
                  ["请重新定损。", "要求合理赔付。", "金额必须重新核定"]),
            act=L(["An adjuster will reassess your payout[ of {amt}] against your repair quote "
                   "within 5 business days.",
                   "We'll have an adjuster review the payout[ of {amt}] against your quote within "
                   "5 business days.",
                   "I've asked an adjuster to re-check the payout[ of {amt}] against your repair "
                   "quote within 5 business days."],
                  ["定损员会对照维修报价重新核定[{amt}的]赔付金额，5个工作日内答复。",
                   "定损员将在5个工作日内对照您的报价重新评估赔付。",
                   "已申请重新定损，5个工作日内根据维修报价给出结果。"]),
            step=L(["Please send us the repair quote so the adjuster can compare it.",
                    "Could you send the repair quote for the adjuster to compare?",
                    "Please share the repair quote with us for the comparison."],
                   ["请把维修报价单发给我们，方便定损员比对。", "麻烦提供维修报价单用于比对。", "请回复发送维修报价。"])),)),
    Issue(
        "insurance_claim", "documents_lost", LOW, id_kind="claim",
        say=L(["I've sent the same medical receipts {n} times and you keep asking for them.",
               "Your team lost my documents again and wants me to resubmit everything.",
               "Every time I call, someone asks for documents I already uploaded."],
              ["同样的医疗发票我已经交了{n}次了，你们还让我交。", "材料又被你们弄丢了，又要我重新提交。",
               "每次打电话都让我补交早就上传过的材料。"]),
        concern=L(["the repeated requests for your documents", "your claim documents",
                   "being asked again for documents you sent"],
                  ["理赔材料被要求重复提交", "理赔材料反复补交", "理赔材料重复提交"]),
        detail=L(["I have the upload confirmation emails.", "I sent them by post and by email."],
                 ["上传成功的邮件我都留着。", "邮寄和邮件都发过了。"]),
        fixes=(Fix(
            demand=L("process the documents already sent", "不要再让我重复提交材料"),
            ask=L(["Use what I already sent.", "Stop asking me for the same papers.",
                   "Just process my claim."],
                  ["请用我已经交的材料处理。", "别再让我重复交了。", "直接处理我的理赔"]),
            act=L(["We have located your documents, attached them to your claim, and will confirm "
                   "everything is complete within 2 business days.",
                   "Your documents have been found and added to your claim, and we'll confirm it's "
                   "complete within 2 business days.",
                   "I've found your documents and linked them to your claim, with confirmation "
                   "that it's complete within 2 business days."],
                  ["我们已找到您的材料并归入理赔档案，2个工作日内确认材料齐全。",
                   "您的材料已找到并补录到案件中，2个工作日内给您确认。",
                   "已核实您提交过的材料并关联到理赔，2个工作日内确认完整。"]),
            step=L(["You don't need to send anything else unless we contact you.",
                    "There's no need to send anything more unless we ask.",
                    "Please don't resend anything unless we get in touch."],
                   ["除非我们联系您，否则无需再提交任何材料。", "不需要再重复提交了，如有需要会联系您。",
                    "无需再寄送材料，有需要我们会通知您。"])),)),
    Issue(
        "insurance_claim", "hospital_coverage", HIGH, id_kind="policy",
        say=L(["The hospital says my policy isn't valid and won't admit me without payment.",
               "I'm at the hospital and they can't verify my insurance with you.",
               "The hospital billing desk says you haven't confirmed my coverage."],
              ["医院说我的保单查不到，要我先自费。", "我在医院，医院说联系不上你们核实保险。",
               "医院收费处说你们还没确认我的保险。"]),
        concern=L(["confirming your coverage with the hospital",
                   "the hospital's problem verifying your policy",
                   "your insurance coverage at the hospital"],
                  ["医院无法核实您的保险", "医院无法确认您的保险", "医院核实不了您的保险"]),
        detail=L(["My premium is paid up.", "It's {city} General Hospital."],
                 ["保费都是按时交的。", "是{city}市第一人民医院。"]),
        safety=Safety(
            say=L(["My father needs treatment today and they won't start without payment.",
                   "They won't start the surgery until this is sorted."],
                  ["老人今天必须治疗，医院不交钱不给治！", "不确认的话医院就不给做手术。"]),
            step=L(["If treatment can't wait, please go ahead and keep every receipt so the costs "
                    "can be reimbursed under your policy.",
                    "Please don't delay treatment; keep all receipts so the costs can be "
                    "reimbursed under your policy.",
                    "Treatment should not wait, so please keep all receipts for reimbursement "
                    "under your policy."],
                   ["治疗不能耽误，请先治疗并保留所有票据，按保单报销。",
                    "请不要延误治疗，保留好全部单据，后续按保单理赔。",
                    "请先保证治疗，所有费用票据留好，按保单报销。"])),
        fixes=(Fix(
            demand=L("confirm my coverage to the hospital", "尽快向医院确认保险"),
            ask=L(["Call the hospital and confirm my cover.",
                   "Please confirm my insurance with them now.",
                   "Sort this out with the hospital."],
                  ["请马上和医院确认我的保险。", "麻烦直接联系医院核实。", "赶紧跟医院沟通"]),
            act=L(["We will contact the hospital directly today to confirm your coverage.",
                   "Our team will call the hospital today to confirm that you are covered.",
                   "I've asked our medical team to confirm your coverage with the hospital today."],
                  ["我们今天会直接联系医院，确认您的保险责任。", "今天内我们会致电医院核实您的保障。",
                   "已安排医疗团队今天与医院确认您的保险。"]),
            step=L(["Please reply with the hospital's billing contact so we can reach them "
                    "quickly.",
                    "Could you send us the hospital billing desk's phone number?",
                    "Please send us the hospital's billing contact details."],
                   ["请回复医院收费处的联系电话，方便我们尽快联系。", "麻烦提供医院收费处的电话。",
                    "请告知医院结算窗口的联系方式。"])),)),
]

TRAVEL_HOTEL = [
    Issue(
        "travel_hotel", "overbooked_room", HIGH, id_kind="booking",
        say=L(["I arrived at the hotel in {city} and they say there's no room for my booking.",
               "The hotel is overbooked and they're telling me to find somewhere else. It's 11pm.",
               "Checked in tonight and the front desk says my reservation doesn't exist."],
              ["到了{city}的酒店，前台说没有房间了。", "酒店超售了，让我自己另外找地方住，现在都晚上11点了。",
               "今晚入住，前台说查不到我的预订。"]),
        concern=L(["your hotel booking[ in {city}]", "the overbooked hotel",
                   "being turned away at your hotel"],
                  ["[{city}]酒店到店无房", "酒店到店无房", "酒店超售到店无房"]),
        detail=L(["I paid in full when I booked.", "I have the confirmation email on my phone."],
                 ["预订的时候就全额付款了。", "确认邮件就在我手机上。"]),
        safety=Safety(
            say=L(["I'm stuck in the lobby with two small kids.",
                   "I'm alone in a strange city at midnight with nowhere to go."],
                  ["我带着两个小孩在大堂干等。", "深更半夜一个人在外地，没地方去。"]),
            step=L(["Please stay in the hotel lobby, and we will call you with the new address.",
                    "Please wait safely in the lobby, and we'll phone you with the new address.",
                    "Please remain in the lobby where it's safe, and we will call you with the "
                    "address."],
                   ["请先在酒店大堂等候，我们会打电话告诉您新地址。", "请在大堂安全等待，新酒店地址会电话通知您。",
                    "请留在酒店大堂，我们会致电告知新的入住地址。"])),
        fixes=(Fix(
            demand=L("find me a room tonight", "今晚安排住宿"),
            ask=L(["Find me a room tonight.", "I need somewhere to sleep tonight.",
                   "Sort out a room now."],
                  ["请今晚给我安排住的地方。", "马上给我解决住宿。", "今晚必须有地方住"]),
            act=L(["We are arranging an equivalent room nearby for tonight at no extra cost and "
                   "will confirm it within 1 hour.",
                   "I'm booking you a comparable room nearby for tonight at our cost, with "
                   "confirmation within 1 hour.",
                   "We will find you a similar room nearby tonight at no extra charge and confirm "
                   "within 1 hour."],
                  ["正在为您安排附近同等级的酒店，费用由我们承担，1小时内确认。",
                   "今晚会为您安排附近同档次的房间，不另收费，1小时内给您确认。",
                   "已在为您协调附近同级酒店入住，无需额外付费，1小时内回复。"]),
            step=L(["Please keep your phone on so we can send you the new hotel details.",
                    "Please keep your phone nearby for the new hotel details.",
                    "Keep your phone on and we'll send the new hotel details."],
                   ["请保持手机畅通，我们会发送新酒店信息。", "请留意手机，新酒店信息稍后发给您。",
                    "请保持电话畅通，以便接收新的入住信息。"])),)),
    Issue(
        "travel_hotel", "flight_cancelled", HIGH, id_kind="booking",
        say=L(["My flight was cancelled and nobody offered me a new one.",
               "You cancelled my flight on {date} with two hours' notice.",
               "Flight cancelled. No rebooking, no hotel, nothing."],
              ["航班被取消了，也没人给我改签。", "{date}的航班起飞前两小时才通知取消。",
               "航班取消，不安排改签也不安排住宿。"]),
        concern=L(["your cancelled flight", "the cancellation of your flight",
                   "your flight being cancelled"],
                  ["航班取消", "航班被取消", "航班临时取消"]),
        detail=L(["The counter at the airport was closed.",
                  "The app just says 'contact customer service'."],
                 ["机场柜台都关了。", "App上只显示“请联系客服”。"]),
        safety=Safety(
            say=L(["I'm stuck at the airport overnight and my medication is in my checked bag.",
                   "I'm stranded at the airport with my elderly mother who needs her medicine."],
                  ["我被困在机场过夜，药还在托运行李里。", "我带着老母亲滞留在机场，她还要按时吃药。"]),
            step=L(["If you need medication tonight, please ask the airport medical desk for help "
                    "right away.",
                    "Please go to the airport medical desk now if medication is needed tonight.",
                    "For medication tonight, please contact the airport medical service straight "
                    "away."],
                   ["如今晚需要用药，请立即联系机场医务室。", "需要药品的话请马上去机场医疗服务点。",
                    "请尽快联系机场医务人员解决今晚的用药问题。"])),
        fixes=(
            Fix(demand=L("rebook me on the next flight", "改签最近的航班"),
                ask=L(["Put me on the next flight.", "Rebook me today.",
                       "I need to get home, rebook me."],
                      ["请给我改签最近的航班。", "今天必须帮我改签。", "赶紧给我安排下一班"]),
                act=L(["We will rebook you on the next available flight at no extra cost and send "
                       "the new ticket within 2 hours.",
                       "You'll be rebooked on the next available flight free of charge, with your "
                       "new ticket within 2 hours.",
                       "I'm moving you to the next available flight at no cost, and the new ticket "
                       "will reach you within 2 hours."],
                      ["我们会免费为您改签最近一班可用航班，2小时内发送新机票。",
                       "将为您免费改签下一班航班，新行程单2小时内发给您。",
                       "已为您办理免费改签至最近航班，2小时内出票。"]),
                step=L(["Please check your email for the new itinerary.",
                        "The new itinerary will arrive by email, so please check your inbox.",
                        "Please watch your inbox for the new itinerary."],
                       ["请留意邮箱中的新行程单。", "新行程会发到您的邮箱，请注意查收。", "请查收邮件中的新行程。"])),
            Fix(demand=L("refund the ticket", "退票退款"),
                ask=L(["Refund my ticket.", "I want my money back for the flight.",
                       "Just refund the fare."],
                      ["请给我退票退款。", "要求全额退票。", "直接退钱"]),
                act=L(["We will cancel the ticket and refund you in full within 7 business days.",
                       "Your ticket will be cancelled and fully refunded within 7 business days.",
                       "I've cancelled the ticket and requested a full refund within 7 business "
                       "days."],
                      ["我们会为您办理退票，7个工作日内全额退款。", "机票将为您取消，票款7个工作日内全额退回。",
                       "已为您申请全额退票，7个工作日内到账。"]),
                step=_REFUND_STEP))),
    Issue(
        "travel_hotel", "room_not_as_advertised", MEDIUM, id_kind="booking",
        say=L(["The room was dirty and nothing like the photos online.",
               "Your listing said sea view and pool, we got a room facing a wall and the pool is "
               "closed.",
               "Hair in the bathroom, stained sheets. Disgusting."],
              ["房间很脏，跟网上的照片完全不一样。", "页面写的海景房带泳池，结果窗外是墙，泳池也关了。",
               "卫生间有头发，床单有污渍，太恶心了。"]),
        concern=L(["the condition of your room", "the room not matching the listing",
                   "your hotel room"],
                  ["酒店房间与描述不符", "房间与描述不符", "酒店房间与宣传不符"]),
        detail=L(["The front desk just shrugged.", "I have photos of everything."],
                 ["前台就说没办法。", "我都拍了照片。"]),
        fixes=(
            Fix(demand=L("move me to a clean room", "换一间干净的房间"),
                ask=L(["Move me to a proper room.", "I want a different room.",
                       "Give me a clean room today."],
                      ["请给我换房。", "要求换一间干净的房间。", "今天就给我换"]),
                act=L(["We have contacted the hotel, and they will move you to a clean room today.",
                       "The hotel has agreed to move you to a clean room today.",
                       "I've spoken to the hotel, and you'll be moved to a clean room today."],
                      ["我们已联系酒店，今天会为您换一间干净的房间。", "酒店已同意今天为您更换干净的房间。",
                       "已和酒店沟通好，今天给您换房。"]),
                step=L(["Please let us know if the new room isn't right.",
                        "If the new room isn't right either, please tell us.",
                        "Do tell us if the new room still isn't right."],
                       ["如果新房间仍有问题，请告诉我们。", "换房后还有问题请随时联系我们。",
                        "新房间如不满意请及时反馈。"])),
            Fix(demand=L("refund part of the stay", "退还部分房费"),
                ask=L(["I want a partial refund.", "Refund part of what I paid.",
                       "I expect money back."],
                      ["要求退一部分房费。", "请退还部分费用。", "必须退钱"]),
                act=L(["We will review this with the hotel and refund the affected nights within 7 "
                       "business days.",
                       "After reviewing it with the hotel, we'll refund the affected nights within "
                       "7 business days.",
                       "I've raised this with the hotel, and the affected nights will be refunded "
                       "within 7 business days."],
                      ["我们会与酒店核实，并在7个工作日内退还受影响晚数的房费。",
                       "核实后会在7个工作日内退还相应房费。", "已与酒店沟通，受影响的房费7个工作日内退回。"]),
                step=L(["Please send us photos of the room to support the refund.",
                        "Could you reply with photos of the room for the refund?",
                        "Please reply with photos of the room so we can process the refund."],
                       ["请把房间照片发给我们，以便处理退款。", "麻烦回复房间照片，方便办理退款。",
                        "请提供房间照片用于退款审核。"])))),
    Issue(
        "travel_hotel", "booking_overcharged", LOW, id_kind="booking", amount=True,
        say=L(["I booked the hotel for {amt2} but was charged {amt}.",
               "My card was charged {amt}, but the booking confirmation says {amt2}.",
               "You charged me more than the price I booked at."],
              ["我订酒店时显示{amt2}，结果扣了{amt}。", "卡上扣了{amt}，预订确认单上写的是{amt2}。",
               "实际扣款比预订价格高。"]),
        concern=L(["the overcharge on your booking", "being charged more than your booking price",
                   "the amount charged for your booking"],
                  ["预订多扣款", "预订被多扣款", "酒店预订多扣款"]),
        detail=L(["Taxes were already included in the price.",
                  "Nobody mentioned any extra charges."],
                 ["价格里已经含税了。", "也没人说有额外费用。"]),
        fixes=(Fix(
            demand=L("refund the overcharge", "退还多收的房费"),
            ask=L(["Refund the difference.", "Give me back the extra you took.",
                   "I want the overcharge refunded."],
                  ["请把多扣的钱退回来。", "要求退还差价。", "多收的钱退给我"]),
            act=L(["We will refund the difference between your booking price and the amount "
                   "charged within 5 business days.",
                   "The difference between the booked price and the charge will be refunded within "
                   "5 business days.",
                   "I've arranged a refund of the overcharged amount within 5 business days."],
                  ["我们会在5个工作日内退还预订价与实际扣款之间的差额。", "多扣的差价将在5个工作日内退回。",
                   "已为您申请退还多收的金额，5个工作日内到账。"]),
            step=L(["Please keep your booking confirmation in case we need it.",
                    "Please hold on to your booking confirmation in case it's needed.",
                    "Keep your booking confirmation handy in case we ask for it."],
                   ["请保留预订确认单，以备核对。", "请留好预订确认信息备查。", "预订确认单请保存好，可能需要核对。"])),)),
    Issue(
        "travel_hotel", "lost_luggage", MEDIUM, id_kind="booking",
        say=L(["My checked bag didn't arrive in {city}.",
               "The airline lost my suitcase and nobody knows where it is.",
               "It's been {n} days and my luggage is still missing."],
              ["托运的行李没有到{city}。", "行李丢了，问谁都不知道在哪。", "{n}天了，行李还是没找到。"]),
        concern=L(["your missing luggage", "your lost suitcase", "the bag that didn't arrive"],
                  ["行李丢失", "托运行李丢失", "行李丢失未到"]),
        detail=L(["I filed a report at the airport.", "All my clothes are in it."],
                 ["在机场已经登记过了。", "换洗衣服全在里面。"]),
        fixes=(Fix(
            demand=L("find and deliver my luggage", "找回并送还行李"),
            ask=L(["Find my bag and bring it to me.", "I want my luggage delivered.",
                   "Get my suitcase back."],
                  ["请尽快找到行李送给我。", "要求把行李送到酒店。", "赶紧帮我找行李"]),
            act=L(["We have started tracing your bag and will update you within 24 hours, with "
                   "free delivery to you once it's found.",
                   "Your bag is being traced, you'll get an update within 24 hours, and we'll "
                   "deliver it free once found.",
                   "I've opened a trace on your luggage, with an update within 24 hours and free "
                   "delivery when it turns up."],
                  ["已开始追踪您的行李，24小时内更新进度，找到后免费送到您手上。",
                   "行李正在查找中，24小时内给您答复，找到后免费配送。", "已为您启动行李追踪，24小时内反馈，找到后免费送达。"]),
            step=L(["Please keep receipts for any essentials you buy in the meantime.",
                    "Keep the receipts for essentials you need to buy meanwhile.",
                    "Please hold on to receipts for anything essential you buy until then."],
                   ["期间购买必需品请保留好票据。", "这段时间买日用品请保留发票。", "请保存好临时购买必需品的收据。"])),)),
]

OTHER = [
    Issue(
        "other", "data_deletion", LOW,
        say=L(["I want all my personal data deleted from your systems.",
               "Please close my account and erase my data.",
               "I asked last month for my data to be deleted and I'm still getting emails."],
              ["请删除我在你们平台上的所有个人信息。", "注销账号并删除我的个人数据。",
               "上个月就申请删除个人信息了，怎么还在给我发邮件？"]),
        concern=L(["your request to delete your personal data", "deleting your personal data",
                   "your data deletion request"],
                  ["删除个人数据的申请", "个人数据删除申请", "删除个人数据"]),
        detail=L(["I don't use the service anymore.", "I never agreed to you keeping it."],
                 ["我已经不用你们的服务了。", "我从没同意你们保留这些信息。"]),
        fixes=(Fix(
            demand=L("delete my personal data", "删除我的个人数据"),
            ask=L(["Delete everything.", "Erase my data.", "Remove all my information."],
                  ["全部删除。", "请删除我的数据。", "把我的信息都删掉"]),
            act=L(["We will delete your account and personal data within 30 days and confirm by "
                   "email when it's done.",
                   "Your account and personal data will be erased within 30 days, with an email to "
                   "confirm.",
                   "I've submitted the deletion of your account and data, which will be completed "
                   "within 30 days and confirmed by email."],
                  ["我们会在30天内删除您的账号和个人数据，完成后邮件通知您。", "您的账号及个人信息将在30天内删除，届时邮件确认。",
                   "已提交删除申请，30天内完成并通过邮件告知您。"]),
            step=L(["Please reply from the email address on your account to confirm the request.",
                    "To confirm the request, please reply from the email registered to your "
                    "account.",
                    "Please confirm by replying from your account's email address."],
                   ["请用账号绑定的邮箱回复确认该申请。", "请通过注册邮箱回复，确认删除申请。",
                    "麻烦用注册邮箱回复一下以确认。"])),)),
    Issue(
        "other", "marketing_spam", LOW,
        say=L(["I keep getting promotional texts even though I unsubscribed.",
               "Stop sending me marketing emails, I've opted out three times.",
               "Your advertising texts arrive at 6am every day."],
              ["我退订了还一直收到你们的营销短信。", "别再给我发推广邮件了，退订好几次了。",
               "每天早上六点就收到你们的广告短信。"]),
        concern=L(["the marketing messages you keep receiving", "the unwanted promotional messages",
                   "our marketing messages"],
                  ["营销短信骚扰", "营销短信", "营销短信打扰"]),
        detail=L(["Replying STOP does nothing.", "I get about five a week."],
                 ["回复TD也没用。", "一周能收到五六条。"]),
        fixes=(Fix(
            demand=L("stop the marketing messages", "停止发送营销信息"),
            ask=L(["Stop it.", "Take me off your lists.", "Never message me again."],
                  ["别再发了。", "请把我从名单里删掉。", "以后不要再给我发"]),
            act=L(["We have removed you from all marketing lists, and it can take up to 48 hours "
                   "for the messages to stop.",
                   "You're now off all our marketing lists, though it may take up to 48 hours for "
                   "messages to stop.",
                   "I've taken you off every marketing list, and the messages will stop within 48 "
                   "hours."],
                  ["我们已将您移出所有营销名单，48小时内生效。", "已为您取消全部营销推送，最长48小时内停止发送。",
                   "已将您的号码从营销名单中删除，48小时内不再发送。"]),
            step=L(["If you still get promotional messages after that, please forward one to us.",
                    "Should any arrive after that, please forward one to us.",
                    "If another one comes after that, please forward it to us."],
                   ["如之后仍收到，请转发一条给我们。", "如果还有，请截图发给我们。", "之后若仍收到，请转发给我们处理。"])),)),
    Issue(
        "other", "accessibility", LOW,
        say=L(["Your website doesn't work with my screen reader, so I can't place an order.",
               "The app text is too small and I can't zoom in; I'm visually impaired.",
               "The checkout buttons have no labels, so my screen reader can't read them."],
              ["你们的App字太小了，也不能放大，老人根本看不清。", "网站不支持读屏软件，我是视障用户，没法下单。",
               "页面按钮没有文字标签，读屏软件读不出来。"]),
        concern=L(["the accessibility of our website and app",
                   "using our site with assistive tools",
                   "the accessibility problem you ran into"],
                  ["无障碍使用问题", "App无障碍使用问题", "无障碍功能问题"]),
        detail=L(["Other shops work fine for me.", "I've tried the latest version."],
                 ["别家的App都能正常用。", "已经是最新版本了。"]),
        fixes=(
            Fix(demand=L("make the website accessible", "改进无障碍功能"),
                ask=L(["Please fix this for disabled users.", "Make it accessible.",
                       "Fix your website."],
                      ["请改进无障碍功能。", "希望尽快优化。", "请重视残障用户"]),
                act=L(["We have reported this to our web team, who will fix it in an update within "
                       "2 weeks.",
                       "Our web team has the report and will fix it in an update within 2 weeks.",
                       "I've logged this with our web team for a fix in an update within 2 weeks."],
                      ["我们已反馈给技术团队，将在2周内的版本更新中修复。", "技术部门已收到反馈，2周内更新修复。",
                       "已提交给产品团队，预计2周内上线优化。"]),
                step=L(["Meanwhile, you can order by phone on our hotline.",
                        "Until then, you can place orders by phone through our hotline.",
                        "In the meantime, our hotline can take your orders by phone."],
                       ["在此期间，您可以拨打客服热线电话下单。", "修复前可以通过客服热线电话下单。",
                        "这段时间可先通过热线电话下单。"])),
            Fix(demand=L("help me place my order", "协助我完成下单"),
                ask=L(["I need help placing my order.", "Can someone help me order?",
                       "Help me buy it another way."],
                      ["请帮我下单。", "能不能有人帮我下单？", "麻烦协助我完成购买"]),
                act=L(["An agent will call you today to help you complete your order by phone.",
                       "Someone from our team will phone you today and place the order with you.",
                       "I've arranged for an agent to call you today to finish your order by "
                       "phone."],
                      ["今天会有客服给您打电话，协助您完成下单。", "今天我们会安排专人致电，帮您电话下单。",
                       "已安排客服今天致电，协助您完成订单。"]),
                step=L(["Please reply with a good time to call.",
                        "Let us know when suits you for the call.",
                        "Please tell us a convenient time for the call."],
                       ["请回复方便接电话的时间。", "请告诉我们什么时间方便通话。", "麻烦告知方便联系的时间。"])))),
    Issue(
        "other", "website_bug", LOW,
        say=L(["The checkout page keeps giving an error when I try to pay.",
               "My coupon code doesn't apply even though it's valid until the end of the month.",
               "Your website crashes whenever I add something to the cart."],
              ["结算页面一付款就报错。", "优惠码明明没过期，却一直提示无效。", "网页一加购物车就崩溃。"]),
        concern=L(["the error on our website", "the problem with our checkout",
                   "the website error"],
                  ["网站故障", "网站页面故障", "网站报错故障"]),
        detail=L(["I tried two different browsers.", "It says 'error 500'."],
                 ["换了两个浏览器都不行。", "页面提示“错误500”。"]),
        fixes=(Fix(
            demand=L("fix the website error", "修复网站故障"),
            ask=L(["Please fix it.", "Fix your site.", "I want to be able to order."],
                  ["请尽快修复。", "麻烦修一下。", "让我能正常下单"]),
            act=L(["Our technical team is fixing the error, and it should be resolved within 2 "
                   "business days.",
                   "The technical team is working on the error and expects to fix it within 2 "
                   "business days.",
                   "I've passed this to our technical team, who will have it fixed within 2 "
                   "business days."],
                  ["技术团队正在修复该问题，预计2个工作日内解决。", "技术人员正在处理，2个工作日内修复。",
                   "已提交技术部门，2个工作日内修复完成。"]),
            step=L(["In the meantime, you can place your order through our app.",
                    "Until it's fixed, you can order through our app.",
                    "Meanwhile, our app can be used to place your order."],
                   ["在此期间可以先通过App下单。", "修复前您可以用App下单。", "这段时间建议您使用App购买。"])),)),
    Issue(
        "other", "phishing_message", MEDIUM,
        say=L(["I got a text claiming to be from you asking me to 'verify my card'. Is it real?",
               "Someone called saying they're from your company and asked for my login code.",
               "Got an SMS with a link saying my parcel is held and I need to pay a fee."],
              ["收到一条自称是你们的短信，让我点链接“验证银行卡”，是真的吗？", "有人打电话说是你们客服，要我报验证码。",
               "收到短信说包裹被扣，要交费才能派送，还附了个链接。"]),
        concern=L(["the suspicious message you received", "the message pretending to be from us",
                   "the possible scam message"],
                  ["冒充我们的可疑短信", "冒充官方的可疑信息", "可疑的冒充短信"]),
        detail=L(["The link looks a bit like your website.", "The number was a mobile number."],
                 ["链接看着有点像你们官网。", "号码是个手机号。"]),
        safety=Safety(
            say=L(["I already entered my card details on the link!",
                   "I gave them the code before I realised."],
                  ["我已经在链接里填了银行卡信息！", "我已经把验证码告诉他了！"]),
            step=L(["Please call your bank right away and change your password.",
                    "Please contact your bank immediately and change your password.",
                    "Please ring your bank now and change your password."],
                   ["请立即联系银行，并修改账户密码。", "请马上致电银行，同时修改账户密码。",
                    "请立刻联系银行并修改您的密码。"])),
        fixes=(Fix(
            demand=L("confirm whether the message is genuine", "确认信息是否为官方发送"),
            ask=L(["Is it really from you?", "Tell me if it's a scam.",
                   "Please confirm if this is you."],
                  ["请确认是不是你们发的。", "这是不是诈骗？", "麻烦核实一下"]),
            act=L(["That message did not come from us, and we have reported it to our security "
                   "team today.",
                   "We did not send that message, and it has been reported to our security team "
                   "today.",
                   "I can confirm the message isn't ours, and our security team has been alerted "
                   "today."],
                  ["该信息并非我们发送，我们今天已上报安全团队处理。", "这不是官方发出的信息，已于今天提交安全部门。",
                   "经核实该信息不是我们发送的，已当天通报安全团队。"]),
            step=L(["Please don't click any links or share any codes, and ignore the message.",
                    "Please ignore it, and never click its links or share codes.",
                    "Just ignore it, without clicking links or sharing any codes."],
                   ["请不要点击任何链接或透露验证码，直接忽略即可。", "请直接忽略，不要点链接，也不要透露验证码。",
                    "请勿点击链接或提供验证码，忽略该信息即可。"])),)),
]

ISSUES: List[Issue] = (BILLING + DELIVERY + PRODUCT_QUALITY + SERVICE_ATTITUDE + ACCOUNT_LOGIN +
                       REFUND + NETWORK_OUTAGE + INSURANCE_CLAIM + TRAVEL_HOTEL + OTHER)
ISSUES_BY_CATEGORY = {c: [i for i in ISSUES if i.category == c] for c in CATEGORIES}

# Secondary demands that would repeat what the remedy already promises.
SECONDARY_EXCLUDED = {"broken_promise": {"callback"}, "passed_around": {"callback"},
                      "invoice_error": {"confirmation"}, "data_deletion": {"confirmation"}}


# --- details a customer mentions -----------------------------------------------------------

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_date(rng: random.Random, lang: str, d: dt.date) -> str:
    if lang == "en":
        return rng.choice([f"{_MONTHS[d.month - 1]} {d.day}", f"{_MONTHS[d.month - 1][:3]} {d.day}",
                           f"{d.month}/{d.day}", f"the {_ordinal(d.day)}"])
    return rng.choice([f"{d.month}月{d.day}日", f"{d.month}月{d.day}号", f"{d.day}号"])


def say_deadline(rng: random.Random, lang: str, d: dt.date) -> str:
    if rng.random() < 0.6:
        return (WEEKDAYS_EN if lang == "en" else WEEKDAYS_ZH)[d.weekday()]
    return f"{_MONTHS[d.month - 1]} {d.day}" if lang == "en" else f"{d.month}月{d.day}号"


def make_amount(rng: random.Random, lang: str, currency: Optional[str] = None,
                below: Optional[float] = None) -> Tuple[str, float, str, str]:
    """An amount as (currency, value, customer's way of writing it, the reply's canonical form).

    `below` draws a smaller amount in the same currency (a promised price, a part refund)."""
    if currency is None:
        foreign = rng.random() < (0.3 if lang == "en" else 0.12)
        home, abroad = ("USD", "CNY") if lang == "en" else ("CNY", "USD")
        currency = abroad if foreign else home
    if currency == "USD":
        whole = below * rng.uniform(0.35, 0.8) if below else rng.randint(5, 400)
        v = f"{max(3, int(whole))}.{rng.choice([0, 99, 49, 50, 95]):02d}"
        said = rng.choice(["${v}", "{v} dollars", "USD {v}"] if lang == "en"
                          else ["{v}美元", "${v}", "{v}美金"]).format(v=v)
        canon = f"${v}" if lang == "en" else f"{v}美元"
    else:
        tens = below * rng.uniform(0.35, 0.8) / 10 if below else rng.randint(1, 300)
        v = str(max(9, int(tens) * 10 + rng.choice([-1, -2, 0, 0])))
        said = rng.choice(["¥{v}", "{v} RMB", "RMB {v}", "{v} yuan"] if lang == "en"
                          else ["{v}元", "¥{v}", "{v}块", "RMB{v}", "{v}块钱"]).format(v=v)
        canon = f"¥{v}" if lang == "en" else f"{v}元"
    return currency, float(v), said, canon


@dataclass
class Person:
    sign: str      # how the customer signs off
    greet: str     # how the reply addresses them


def make_person(rng: random.Random, lang: str) -> Person:
    if lang == "en":
        full = rng.choice(PINYIN_NAMES if rng.random() < 0.35 else WESTERN_NAMES)
        # Pinyin names are family name first, so the reply keeps the full name.
        greet = full if full in PINYIN_NAMES else full.split()[0]
        return Person(rng.choice([f"Regards, {full}", f"Thanks, {full}", f"- {full}",
                                  f"Best, {full}"]), greet)
    name = rng.choice(ZH_SURNAMES) + rng.choice(["先生", "女士"])
    return Person(rng.choice([f"——{name}", f"{name}", f"谢谢，{name}"]), name)


def make_values(rng: random.Random, lang: str, issue: Issue, day: dt.date):
    """Slot values for the customer's text, and the reply's canonical form of each detail."""
    said: Dict[str, str] = {}
    canon: Dict[str, str] = {}
    cur, value, said["amt"], canon["amt"] = make_amount(rng, lang)
    # The second amount is the price the customer expected or the part already refunded.
    _, _, said["amt2"], _ = make_amount(rng, lang, currency=cur, below=value)
    if issue.products:
        k = rng.randrange(len(issue.products["en"]))
        said["product"] = canon["product"] = issue.products[lang][k]
    plans = issue.plans or L(["Premium"], ["VIP会员"])
    said["plan"] = canon["plan"] = rng.choice(plans[lang])
    said["city"] = canon["city"] = rng.choice(CITIES[lang])
    said["date"] = say_date(rng, lang, day - dt.timedelta(days=rng.randint(2, 14)))
    said["deadline"] = say_deadline(rng, lang, day + dt.timedelta(days=rng.randint(1, 6)))
    said["n"] = str(rng.randint(3, 9))
    said["pinyin"] = rng.choice(PINYIN_NAMES)
    said["surname"] = rng.choice(ZH_SURNAMES)
    said["time"] = rng.choice(TIMES[lang])
    said["staff"] = str(rng.randint(1000, 9999))
    return said, canon


# --- text noise ----------------------------------------------------------------------------
#
# Real complaints are typed in a hurry: typos, dropped apostrophes, shouting, Chinese
# particle and punctuation habits. Noise never touches digits, so ids and amounts survive.

_APOSTROPHES = {"don't": "dont", "can't": "cant", "I'm": "im", "I've": "ive", "it's": "its",
                "didn't": "didnt", "won't": "wont", "doesn't": "doesnt", "isn't": "isnt",
                "haven't": "havent", "That's": "thats", "It's": "its", "what's": "whats"}


def en_noise(text: str, rng: random.Random) -> str:
    if rng.random() < 0.6:
        for good, bad in _APOSTROPHES.items():
            text = text.replace(good, bad)
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    for i in rng.sample(candidates, min(len(candidates), rng.choice([0, 1, 1, 2]))):
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    text = " ".join(words)
    if rng.random() < 0.2:
        text = text.replace(" you ", " u ").replace("please", "pls")
    if rng.random() < 0.35:
        text = " ".join(w if any(c.isdigit() for c in w) else w.lower() for w in text.split(" "))
    if rng.random() < 0.3 and text.endswith("."):
        text = text[:-1]
    return text


def en_shout(text: str, rng: random.Random) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text)
    if len(sentences) > 1 and rng.random() < 0.5:
        k = rng.randrange(len(sentences))
        sentences[k] = sentences[k].upper()
    text = " ".join(sentences)
    if rng.random() < 0.6:
        text = re.sub(r"[.!]+$", rng.choice(["!!!", "!!", "!"]), text)
    return text


def zh_noise(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        text = text.replace("得", "的") if rng.random() < 0.7 else text.replace("的", "地", 1)
    if rng.random() < 0.3 and text.endswith("。"):
        text = text[:-1] + rng.choice(["啊。", "啊", "。。。", "。。"])
    if rng.random() < 0.3:
        text = text.replace("？", rng.choice(["??", "？？", "?"]))
    if rng.random() < 0.2:
        text = text.replace("，", ",")
    if rng.random() < 0.2 and text.endswith("。"):
        text = text[:-1]
    return text


def zh_shout(text: str, rng: random.Random) -> str:
    text = re.sub("！+", rng.choice(["！！", "！！！", "!!!"]), text)
    if rng.random() < 0.5:
        text = re.sub(r"[。]$", rng.choice(["！！", "！"]), text)
    return text


def join_pieces(lang: str, pieces: List[str]) -> str:
    """Joins sentences the way customers write them: in English with spaces, going on in
    lower case after "Hi,"; in Chinese with nothing, or a comma after an unfinished clause.
    An @mention is followed by a space in both."""
    pieces = [p for p in pieces if p]
    out = ""
    for i, p in enumerate(pieces):
        if i and lang == "en" and pieces[i - 1].endswith(","):
            p = lower_first(p)
        out += p
        if i == len(pieces) - 1:
            break
        if p.startswith("@") or lang == "en":
            out += " "
        elif p[-1] not in "。！？，!?.：:）)":
            out += "，"
    return out


def lower_first(text: str) -> str:
    """For sentences continued after 'Also,' — but never 'i' or shouted words."""
    first = text.split(" ", 1)[0]
    if first.startswith("I") and (len(first) == 1 or first[1] in "'’") or first.isupper():
        return text
    return text[:1].lower() + text[1:]


# --- the reference reply -------------------------------------------------------------------

@dataclass
class ReplySpec:
    """What the reference reply must say; render_reply picks the wording."""
    lang: str
    greet: List[str]
    concern: List[str]
    values: Dict[str, str]           # details the customer gave, in the reply's form
    ref: Optional[Tuple[str, str]]   # (label, id) when the customer quoted a number
    name: Optional[str]              # when the customer signed with their name
    apology: str
    act: List[str]
    ack: Optional[List[str]]
    step: List[str]


def render_reply(spec: ReplySpec, rng: random.Random) -> str:
    """The company template: greet by concern, apologise once, say what we'll do and by when,
    acknowledge the first secondary demand, give one next step, thank them. Every slot is
    drawn independently from paraphrases of the same content."""
    lang = spec.lang
    hi = (fill(rng.choice(HELLO_NAMED[lang]), {"name": spec.name}) if spec.name
          else rng.choice(HELLO[lang]))
    ref = (fill(rng.choice(REF[lang]), {"label": spec.ref[0], "id": spec.ref[1]})
           if spec.ref else "")
    concern = fill(rng.choice(spec.concern), spec.values)
    parts = [fill(rng.choice(spec.greet), {"hi": hi, "concern": concern, "ref": ref}),
             rng.choice(APOLOGY[spec.apology][lang]),
             fill(rng.choice(spec.act), spec.values)]
    if spec.ack:
        parts.append(rng.choice(spec.ack))
    parts.append(fill(rng.choice(spec.step), spec.values))
    parts.append(rng.choice(THANKS[lang]))
    return (" " if lang == "en" else "").join(parts)


def apology_key(mods: List[str], sentiment: str) -> str:
    if "repeat" in mods:
        return "repeat"
    return {"angry": "upset", "frustrated": "upset", "anxious": "anxious",
            "satisfied": "satisfied"}.get(sentiment, "neutral")


def urgency_of(base: int, mods: List[str], safety: bool) -> int:
    """Safety risks are critical. Otherwise each cue (repeat contact, deadline, legal threat,
    business impact) adds a level to the sub-issue's base; short of a safety risk, critical
    takes a high-urgency issue plus two cues."""
    score = base + len(mods)
    return CRITICAL if safety or score > HIGH + 1 else min(score, HIGH)


# --- the dialog ----------------------------------------------------------------------------

FLOWS = [("single", 28), ("double", 8), ("ask", 17), ("hold", 11), ("bad", 11),
         ("ask_hold", 6), ("ask_bad", 6), ("six", 6), ("helpful", 3)]
CARELESS = {"chat": 0.3, "app": 0.3, "social": 0.45, "email": 0.1, "phone": 0.0}
# How long the other side takes to answer, in seconds, per channel.
GAPS = {"chat": (20, 420), "app": (20, 600), "social": (60, 1800), "email": (900, 10800),
        "phone": (5, 60)}
ESCALATE_AFTER_BAD = {"polite": "frustrated", "frustrated": "angry", "sarcastic": "frustrated",
                      "anxious": "anxious", "angry": "angry"}


def weighted(rng: random.Random, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def weighted_sample(rng: random.Random, items: List[str], weights: Dict[str, float], k: int):
    items, out = list(items), []
    for _ in range(min(k, len(items))):
        pick = rng.choices(items, weights=[weights.get(i, 1.0) for i in items])[0]
        items.remove(pick)
        out.append(pick)
    return out


@dataclass
class Plan:
    """What is decided about a conversation before a word is written."""
    lang: str
    channel: str
    issue: Issue
    fix: Fix
    tone: str                      # the customer's tone at the start
    flow: str                      # the shape of the dialog, one of FLOWS
    mods: List[str]                # urgency cues the customer will mention
    safety: bool
    secondaries: List[str]         # secondary demands, most important first
    id_value: Optional[str]
    id_said: bool                  # whether the customer quotes the reference number
    person: Optional[Person]       # set when the customer signs with their name


@dataclass
class Conversation:
    """A drafted conversation: its turns so far and what its labels derive from."""
    plan: Plan
    turns: List[dict]
    sentiment: str
    attributes: Dict[str, str]
    clock: dt.datetime             # time of the latest turn


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_turn(conv: Conversation, rng: random.Random, role: str, text: str,
             gap: Optional[int] = None) -> None:
    """Appends a turn, some seconds or minutes (per channel) after the previous one."""
    if conv.turns:
        lo, hi = GAPS[conv.plan.channel]
        conv.clock += dt.timedelta(seconds=gap if gap is not None else rng.randint(lo, hi))
    conv.turns.append({"role": role, "text": text, "ts": _stamp(conv.clock)})


def style_customer(lang: str, channel: str, tone: str, text: str, rng: random.Random) -> str:
    if tone == "angry":
        text = en_shout(text, rng) if lang == "en" else zh_shout(text, rng)
    if rng.random() < CARELESS[channel]:
        text = en_noise(text, rng) if lang == "en" else zh_noise(text, rng)
    return text


def split_late(rng: random.Random, late: List[Tuple[str, str]], p_first: Dict[str, float]):
    """Spreads the later pieces (safety, cues, demands) over the first and the last customer
    turn, so multi-turn dialogs reveal what the customer wants along the way."""
    first, last = [], []
    for kind, text in late:
        (first if rng.random() < p_first.get(kind, 0.5) else last).append(text)
    return first, last


def make_plan(rng: random.Random, lang: str, day: dt.date) -> Plan:
    category = rng.choice(CATEGORIES)
    issue = rng.choice(ISSUES_BY_CATEGORY[category])
    tone = weighted(rng, TONE_WEIGHTS)
    flow = weighted(rng, FLOWS)
    if flow == "helpful" and tone == "angry":
        tone = "frustrated"   # nobody thanks the agent warmly straight after a tirade
    channel = weighted(rng, CHANNELS)
    mods = rng.sample(CATEGORY_MODIFIERS[category], weighted(rng, [(0, 60), (1, 32), (2, 8)]))
    safety = issue.safety is not None and rng.random() < 0.3
    # Angry customers ask for more, and more often for compensation or a manager.
    n_secondary = weighted(rng, [(0, 30), (1, 45), (2, 25)] if tone == "angry"
                           else [(0, 55), (1, 35), (2, 10)])
    pool = [s for s in SECONDARY if s not in SECONDARY_EXCLUDED.get(issue.key, set())]
    secondaries = weighted_sample(rng, pool, {"compensation": 2.0, "supervisor": 1.5}
                                  if tone == "angry" else {}, n_secondary)
    id_value = make_id(issue.id_kind, rng, day) if issue.id_kind else None
    signs = (channel == "email" and rng.random() < 0.7
             or channel in ("chat", "app") and rng.random() < 0.08)
    return Plan(lang, channel, issue, rng.choice(issue.fixes), tone, flow, mods, safety,
                secondaries, id_value, id_value is not None and rng.random() < 0.8,
                make_person(rng, lang) if signs else None)


@dataclass
class Pieces:
    """The sentences of the customer's side, before they are spread over turns."""
    openers: List[str]
    early: List[str]               # the problem, the reference number, details, background
    late: List[Tuple[str, str]]    # (kind, text): safety, cue, primary and secondary demands
    spare_details: List[str]       # kept for when the agent asks for details
    closer: str
    sign: str
    quoted: Dict[str, str]         # the reference number as the customer writes it


def customer_pieces(plan: Plan, rng: random.Random, said: Dict[str, str], used: set) -> Pieces:
    lang, issue, kind = plan.lang, plan.issue, plan.issue.id_kind
    details = [fill(d, said, used) for d in rng.sample(issue.detail[lang], len(issue.detail[lang]))]
    mention = fill(rng.choice(ID_KINDS[kind]["say"][lang]), {"id": plan.id_value}) if kind else ""
    quoted = {"m": mention, "M": mention[:1].upper() + mention[1:]}

    early = [fill(rng.choice(issue.say[lang]), said, used)]
    if plan.id_said and plan.flow not in ASKING_FLOWS:
        line = rng.choice(["{M}.", "It's {m}.", "({m})", "This is about {m}."] if lang == "en"
                          else ["{m}。", "{m}", "（{m}）"])
        early.append(fill(line, quoted))
    # Social posts are short; elsewhere most customers add some detail (one is kept back
    # when the agent will ask for details) and some add background that changes nothing.
    if plan.channel != "social":
        keep = 1 if plan.flow in ASKING_FLOWS and not kind else 0
        for p in (0.85, 0.3):
            if len(details) > keep and rng.random() < p:
                early.append(details.pop(0))
        if rng.random() < 0.45:
            early.insert(rng.randint(1, len(early)), fill(rng.choice(BACKGROUND[lang]), said))

    late: List[Tuple[str, str]] = []
    if plan.safety:
        late.append(("safety", fill(rng.choice(issue.safety.say[lang]), said, used)))
    for m in plan.mods:
        late.append(("mod", fill(rng.choice(MODIFIERS[m][lang]), said, used)))
    # A customer about to thank the agent asks politely (the first phrasings are the polite ones).
    asks = plan.fix.ask[lang][:2] if plan.flow == "helpful" else plan.fix.ask[lang]
    late.append(("primary", rng.choice(asks)))
    for s in plan.secondaries:
        late.append(("secondary", rng.choice(SECONDARY[s]["ask"][lang])))

    tone_open = rng.choice(TONE_OPEN[plan.tone][lang]) if rng.random() < 0.5 else ""
    closer = rng.choice(TONE_CLOSE[plan.tone][lang]) if rng.random() < 0.5 else ""
    openers = [tone_open]
    if plan.channel == "email" and rng.random() < 0.8:
        # A letter's salutation stands in for a polite customer's "Hi".
        openers = [rng.choice(EMAIL_OPEN[lang])] + ([] if plan.tone == "polite" else [tone_open])
    elif plan.channel == "phone" and rng.random() < 0.6:
        openers = [rng.choice(PHONE_OPEN[lang])]
    elif plan.channel == "social" and rng.random() < 0.6:
        openers = [rng.choice(SOCIAL_OPEN[lang]), tone_open]
    return Pieces(openers, early, late, details, closer,
                  plan.person.sign if plan.person else "", quoted)


ASKING_FLOWS = ("ask", "ask_hold", "ask_bad", "six")


def write_turns(conv: Conversation, pc: Pieces, rng: random.Random, said: Dict[str, str]) -> str:
    """Writes the dialog in the plan's flow; returns the customer's tone at the end."""
    plan = conv.plan
    lang, tone, flow, kind = plan.lang, plan.tone, plan.flow, plan.issue.id_kind
    category = plan.issue.category

    def customer(t: str, pieces: List[str]) -> None:
        text = style_customer(lang, plan.channel, t, join_pieces(lang, pieces), rng)
        add_turn(conv, rng, "customer", text)

    def agent(text: str) -> None:
        add_turn(conv, rng, "agent", text)

    def ask() -> None:
        if kind:
            agent(fill(rng.choice(AGENT_ASK_ID[lang]), {"what": ID_KINDS[kind]["ask"][lang]}))
        else:
            agent(rng.choice(AGENT_ASK_DETAIL[lang]))

    def answer() -> List[str]:
        if kind and plan.id_said:
            return [fill(rng.choice(ID_REPLY[lang]), pc.quoted)]
        if kind:
            return [fill(rng.choice(ID_MISSING[lang]), {"what": ID_KINDS[kind]["ask"][lang]})]
        if pc.spare_details:
            return [pc.spare_details.pop(0)]
        return [fill(rng.choice(TIMES[lang]), said)]

    def stall_or_deflect(mode: str) -> str:
        """A holding answer or a bad one; returns the customer's tone after it."""
        if mode == "hold":
            agent(rng.choice(AGENT_HOLD[lang]))
            return tone
        agent(rng.choice(AGENT_BAD[category][lang]))
        return ESCALATE_AFTER_BAD[tone]

    def reaction(after: str) -> str:
        return rng.choice(PUSHBACK[{"sarcastic": "frustrated"}.get(after, after)][lang])

    late = pc.late
    if flow == "single":
        customer(tone, pc.openers + pc.early + [t for _, t in late] + [pc.closer, pc.sign])
        return tone
    if flow == "double":
        first, last = split_late(rng, late, {"safety": 0.7, "mod": 0.4, "primary": 0.5,
                                             "secondary": 0.2})
        if not last:   # said it all, then nudges
            customer(tone, pc.openers + pc.early + first + [pc.closer, pc.sign])
            customer(tone, [rng.choice(CUSTOMER_NUDGE[lang])])
        else:          # sends the rest as a second message
            customer(tone, pc.openers + pc.early + first + [pc.sign])
            add, body = rng.choice(CUSTOMER_ADD[lang]), join_pieces(lang, last + [pc.closer])
            customer(tone, [add + (" " + lower_first(body) if lang == "en" else body)])
        return tone
    if flow in ("ask", "hold", "bad", "helpful"):
        first, last = split_late(rng, late, {"safety": 0.7, "mod": 0.5, "primary": 0.6,
                                             "secondary": 0.3})
        if flow == "helpful":
            first = [t for k, t in late if k in ("safety", "mod")]
            last = [t for k, t in late if k in ("primary", "secondary")]
        elif flow == "hold" and tone == "polite":
            # A polite customer who is told to wait just says thanks; they said it all first.
            first, last = [t for _, t in late], []
        customer(tone, pc.openers + pc.early + first + [pc.sign])
        if flow == "ask":
            ask()
            customer(tone, answer() + last + [pc.closer])
            return tone
        if flow == "helpful":
            agent(rng.choice(AGENT_HELPFUL[lang]))
            customer("polite", [rng.choice(THANKFUL[lang])] + last)
            return "polite"
        after = stall_or_deflect(flow)
        customer(after, [reaction(after)] + last + ([pc.closer] if after == tone else []))
        return after
    # ask_hold, ask_bad, six: the agent asks for the number, then stalls or deflects.
    first, last = split_late(rng, late, {"safety": 0.6, "mod": 0.4, "primary": 0.5,
                                         "secondary": 0.1})
    mid, last = split_late(rng, [("x", t) for t in last], {"x": 0.3})
    customer(tone, pc.openers + pc.early + first + [pc.sign])
    if flow == "six":
        customer(tone, [rng.choice(CUSTOMER_NUDGE[lang])])
    ask()
    customer(tone, answer() + mid)
    mode = {"ask_hold": "hold", "ask_bad": "bad"}.get(flow) or rng.choice(["hold", "bad"])
    after = stall_or_deflect(mode)
    customer(after, [reaction(after)] + last + ([pc.closer] if after == tone else []))
    return after


def reply_spec(plan: Plan, values: Dict[str, str], sentiment: str) -> ReplySpec:
    """The content of the reference reply, all of it visible in the dialog."""
    lang, issue, kind = plan.lang, plan.issue, plan.issue.id_kind
    if plan.safety:
        step = issue.safety.step[lang]
    elif kind in NEEDS_ID and not plan.id_said:
        step = [fill(s, {"what": ID_KINDS[kind]["ask"][lang]}) for s in STEP_NEED_ID[lang]]
    else:
        step = (plan.fix.step or issue.step)[lang]
    return ReplySpec(
        lang=lang, greet=GREET[lang], concern=issue.concern[lang], values=values,
        ref=(ID_KINDS[kind]["label"][lang], plan.id_value) if plan.id_said else None,
        name=plan.person.greet if plan.person else None,
        apology=apology_key(plan.mods, sentiment), act=plan.fix.act[lang],
        ack=SECONDARY[plan.secondaries[0]]["ack"][lang] if plan.secondaries else None,
        step=step)


def draft_conversation(rng: random.Random, lang: str,
                       created: dt.datetime) -> Tuple[Conversation, ReplySpec]:
    plan = make_plan(rng, lang, created.date())
    said, canon = make_values(rng, lang, plan.issue, created.date())
    used: set = set()   # the slots the customer's text actually used
    pieces = customer_pieces(plan, rng, said, used)
    conv = Conversation(plan, [], "", {}, created)
    final_tone = write_turns(conv, pieces, rng, said)
    conv.sentiment = "satisfied" if plan.flow == "helpful" else TONE_SENTIMENT[final_tone]
    conv.attributes = make_attributes(rng, plan, said, used)
    # The reply may only repeat details the customer wrote, in the reply's canonical form.
    values = {k: canon[k] for k in ("product", "plan", "city") if k in used and k in canon}
    if plan.issue.amount and "amt" in used:
        values["amt"] = canon["amt"]
    return conv, reply_spec(plan, values, conv.sentiment)


def make_attributes(rng: random.Random, plan: Plan, said: Dict[str, str],
                    used: set) -> Dict[str, str]:
    """Metadata the source system attached; the prompt never shows it, so no label uses it."""
    issue, attrs = plan.issue, {}
    if plan.id_value and rng.random() < (0.9 if plan.id_said else 0.4):
        attrs[ID_KINDS[issue.id_kind]["attr"]] = plan.id_value
    if issue.products and rng.random() < 0.6:
        attrs["product"] = said["product"]
    if "plan" in used and rng.random() < 0.7:
        attrs["plan"] = said["plan"]
    if "city" in used and rng.random() < 0.6 or rng.random() < 0.1:
        attrs["city"] = said["city"]
    if rng.random() < 0.3:
        attrs["tier"] = rng.choice(TIERS)
    return attrs


def labels_of(conv: Conversation) -> dict:
    plan = conv.plan
    demands = [plan.fix.demand[plan.lang]] + [SECONDARY[s]["demand"][plan.lang]
                                              for s in plan.secondaries]
    return {"category": plan.issue.category, "demands": demands[:3],
            "urgency": URGENCIES[urgency_of(plan.issue.base, plan.mods, plan.safety)],
            "sentiment": conv.sentiment}


def follow_up(conv: Conversation, spec: ReplySpec, labels: dict,
              rng: random.Random) -> Tuple[dict, ReplySpec]:
    """Extends the dialog with the agent's answer and the customer's next message, which is
    a complaint of its own: the fix did not happen, they want it in writing, or they want a
    supervisor."""
    plan = conv.plan
    lang = plan.lang
    reason = weighted(rng, [("not_done", 55), ("thanks_but", 20), ("supervisor", 25)])
    f = FOLLOWUP[reason]
    answer = (" " if lang == "en" else "").join(
        [fill(rng.choice(spec.act), spec.values), fill(rng.choice(spec.step), spec.values)])
    add_turn(conv, rng, "agent", answer)
    days = rng.randint(2, 9)
    gap = (days * 86400 + rng.randint(0, 20000) if reason == "not_done"
           else rng.randint(300, 18000) if reason == "thanks_but" else rng.randint(120, 7200))
    # Having to come back counts as one more urgency cue, like a repeat contact.
    again = URGENCIES[urgency_of(plan.issue.base, plan.mods + ["follow_up"], plan.safety)]
    primary = plan.fix.demand[lang]
    ack = None
    if reason == "not_done":
        tone = "angry" if rng.random() < 0.4 else "frustrated"
        pieces = [fill(rng.choice(f["say"][lang]), {"n": str(days)})]
        demands = [primary]
        if rng.random() < 0.3:
            pieces.append(rng.choice(SECONDARY["explanation"]["ask"][lang]))
            demands.append(SECONDARY["explanation"]["demand"][lang])
            ack = SECONDARY["explanation"]["ack"][lang]
        if tone == "angry":
            pieces.append(rng.choice(TONE_CLOSE["angry"][lang]))
        labels2 = {"demands": demands, "urgency": again,
                   "sentiment": TONE_SENTIMENT[tone]}
        apology = "repeat"
    elif reason == "thanks_but":
        tone = "polite"
        pieces = [rng.choice(f["say"][lang])]
        labels2 = {"demands": [SECONDARY["confirmation"]["demand"][lang]],
                   "urgency": URGENCIES[LOW], "sentiment": "satisfied"}
        apology = "satisfied"
    else:
        tone = "angry"
        pieces = [rng.choice(f["say"][lang])]
        labels2 = {"demands": [SECONDARY["supervisor"]["demand"][lang], primary],
                   "urgency": again, "sentiment": "angry"}
        apology = "upset"
    add_turn(conv, rng, "customer",
             style_customer(lang, plan.channel, tone, join_pieces(lang, pieces), rng), gap=gap)
    spec2 = ReplySpec(lang=lang, greet=f["greet"][lang], concern=spec.concern, values=spec.values,
                      ref=spec.ref, name=spec.name, apology=apology, act=f["act"][lang], ack=ack,
                      step=f["step"][lang])
    return {**labels, **labels2}, spec2


# --- events --------------------------------------------------------------------------------

YEAR_START = dt.datetime(2025, 1, 1)
# Complaints arrive mostly in waking hours.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 9, 10, 10, 9, 8, 8, 8, 7, 6, 4, 2]
FOLLOW_UP_SHARE = 0.15   # of conversations
SHORT_SHARE = 0.8        # of first events with at most four turns, the ones that can go on


def random_start(rng: random.Random) -> dt.datetime:
    day = YEAR_START + dt.timedelta(days=rng.randrange(358))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day + dt.timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def event_record(conv: Conversation, created_at: str, ids: Tuple[str, str, str], reply: str,
                 labels: dict) -> dict:
    complaint_id, conversation_id, customer_id = ids
    return {
        "complaint_id": complaint_id, "conversation_id": conversation_id,
        "customer_id": customer_id, "channel": conv.plan.channel, "language": conv.plan.lang,
        "created_at": created_at, "turns": [dict(t) for t in conv.turns],
        "reference_reply": reply, "reference_category": labels["category"],
        "reference_demands": labels["demands"], "reference_urgency": labels["urgency"],
        "reference_sentiment": labels["sentiment"], "attributes": dict(conv.attributes),
    }


def conversations(rng: random.Random):
    """Endless conversations, half in each language. Each is a list of one or two events as
    (dialog snapshot, created_at, ReplySpec, labels)."""
    while True:
        lang = rng.choice(LANGS)
        conv, spec = draft_conversation(rng, lang, random_start(rng))
        labels = labels_of(conv)
        events = [(snapshot(conv), conv.turns[0]["ts"], spec, labels)]
        # Follow-ups extend short dialogs only, keeping every event within six turns.
        if len(conv.turns) <= 4 and rng.random() < FOLLOW_UP_SHARE / SHORT_SHARE:
            labels2, spec2 = follow_up(conv, spec, labels, rng)
            # A follow-up is a complaint of its own, opened when its message arrived.
            events.append((snapshot(conv), conv.turns[-1]["ts"], spec2, labels2))
        yield events


def snapshot(conv: Conversation) -> Conversation:
    """A copy of the conversation as it stands, so extending it leaves earlier events alone."""
    copy = Conversation(**vars(conv))
    copy.turns = [dict(t) for t in conv.turns]
    return copy


def generate(rng: random.Random, count: int, prefix: str, width: int):
    """`count` events with ids c-<prefix>NNN and conv-<prefix>NNN."""
    out = []
    for n_conv, events in enumerate(conversations(rng)):
        customer_id = f"cust-{rng.randint(10000, 99999)}"
        for conv, created_at, spec, labels in events:
            if len(out) == count:
                return out
            ids = (f"c-{prefix}{len(out):0{width}d}", f"conv-{prefix}{n_conv:0{width}d}",
                   customer_id)
            out.append(event_record(conv, created_at, ids, render_reply(spec, rng), labels))
        if len(out) == count:
            return out


def generate_pairs(rng: random.Random, count: int):
    out = []
    for events in conversations(rng):
        for conv, _, spec, labels in events:
            if len(out) == count:
                return out
            out.append({"language": conv.plan.lang, "category": labels["category"],
                        "a": render_reply(spec, rng), "b": render_reply(spec, rng)})
        if len(out) == count:
            return out


def write_jsonl(path: str, rows) -> None:
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def reply_length(lang: str, text: str) -> int:
    """Words in English, characters in Chinese: the units the reply guidelines use."""
    return len(text.split()) if lang == "en" else len(text)


def summarize(name: str, events: List[dict]) -> str:
    lines = [f"{name}: {len(events)} events, "
             f"{len({e['conversation_id'] for e in events})} conversations"]
    for field, key in (("language", "language"), ("category", "reference_category"),
                       ("urgency", "reference_urgency"), ("sentiment", "reference_sentiment"),
                       ("channel", "channel")):
        counts = collections.Counter(e[key] for e in events)
        lines.append(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    turns = collections.Counter(len(e["turns"]) for e in events)
    lines.append(f"  turns: avg {sum(len(e['turns']) for e in events) / len(events):.2f} ("
                 + ", ".join(f"{k}: {v}" for k, v in sorted(turns.items())) + ")")
    for lang, unit in (("en", "words"), ("zh", "chars")):
        sub = [e for e in events if e["language"] == lang]
        if sub:
            reply = sum(reply_length(lang, e["reference_reply"]) for e in sub) / len(sub)
            dialog = sum(reply_length(lang, " ".join(t["text"] for t in e["turns"]))
                         for e in sub) / len(sub)
            lines.append(f"  {lang}: avg reply {reply:.1f} {unit}, avg dialog {dialog:.1f} {unit}")
    return "\n".join(lines)


def check_catalog() -> None:
    """Every reply template must fill with or without the optional details, and every remedy
    needs a next step; failing here beats writing a broken corpus."""
    assert set(TONE_SENTIMENT.values()) | {"satisfied"} <= set(SENTIMENTS)
    assert {i.category for i in ISSUES} == set(CATEGORIES)
    for issue in ISSUES:
        for lang in LANGS:
            for fix in issue.fixes:
                assert (fix.step or issue.step), issue.key
                for t in fix.act[lang] + (fix.step or issue.step)[lang] + issue.concern[lang]:
                    fill(t, {})
            assert len(issue.detail[lang]) >= 2, issue.key


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--train-out", help="training events (JSON Lines)")
    ap.add_argument("--train", type=int, default=40000, help="number of training events")
    ap.add_argument("--heldout-out", help="held-out events, e.g. sample-data/complaints.jsonl")
    ap.add_argument("--heldout", type=int, default=1000, help="number of held-out events")
    ap.add_argument("--pairs-out", help="two independent reference draws per dialog")
    ap.add_argument("--pairs", type=int, default=400, help="number of reference pairs")
    args = ap.parse_args(argv)
    if not (args.train_out or args.heldout_out or args.pairs_out):
        ap.error("give at least one of --train-out, --heldout-out, --pairs-out")
    check_catalog()
    started = time.time()
    # Separate streams: the held-out file does not change when --train does, and vice versa.
    if args.heldout_out:
        events = generate(random.Random(f"{args.seed}-heldout"), args.heldout, "h", 5)
        write_jsonl(args.heldout_out, events)
        print(summarize(args.heldout_out, events), file=sys.stderr)
    if args.train_out:
        events = generate(random.Random(f"{args.seed}-train"), args.train, "t", 6)
        write_jsonl(args.train_out, events)
        print(summarize(args.train_out, events), file=sys.stderr)
    if args.pairs_out:
        pairs = generate_pairs(random.Random(f"{args.seed}-pairs"), args.pairs)
        write_jsonl(args.pairs_out, pairs)
        print(f"{args.pairs_out}: {len(pairs)} reference pairs", file=sys.stderr)
    print(f"done in {time.time() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
