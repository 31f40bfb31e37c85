"""GLM error codes: the HTTP status and body the real API answers with for each."""
from __future__ import annotations

import json

# code -> (HTTP status, message). Messages are the platform's own where they are known
# (docs/emulator.md marks the ones that are not).
ERROR_TABLE: dict[str, tuple[int, str]] = {
    "1000": (401, "身份验证失败。"),
    "1001": (401, "Header中未收到Authorization参数，无法进行身份验证。"),
    "1002": (401, "Authorization Token非法，请确认Authorization Token正确传递。"),
    "1003": (401, "Authorization Token已过期，请重新生成/获取。"),
    "1004": (401, "通过提供的Authorization Token认证失败。"),
    "1005": (401, "Authorization Token验证失败，请检查后重试。"),
    "401": (401, "令牌已过期或验证不正确！"),
    "1113": (429, "余额不足或无可用资源包,请充值。"),
    "1200": (500, "API 调用错误。"),
    "1210": (400, "API 调用参数有误，请检查文档。"),
    "1211": (400, "模型不存在，请检查模型代码。"),
    "1212": (400, "当前模型不支持该调用方式。"),
    "1213": (400, "未正常接收到必填参数。"),
    "1214": (400, "messages 参数非法。请检查文档。"),
    "1215": (400, "参数不能同时设置，请检查文档。"),
    "1220": (403, "您无权访问该API。"),
    "1221": (400, "该API已下线。"),
    "1222": (400, "该API不存在。"),
    "1230": (500, "API调用流程出错。"),
    "1234": (500, "网络错误，请联系客服。"),
    "1261": (400, "Prompt 超长。"),
    "1301": (400, "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"),
    "1302": (429, "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"),
    "1303": (429, "您当前使用该API的频率过高，请降低频率，或联系客服增加限额。"),
    "1304": (429, "该API已达今日调用次数限额，如有更多需求，请联系客服购买。"),
    "1305": (429, "该模型当前访问量过大，请您稍后再试"),
    "500": (500, "服务内部错误，请稍后重试。"),
}

MESSAGES_INVALID = ERROR_TABLE["1214"][1]


def status_for(code: str) -> int:
    """HTTP status of a code; an unlisted code that looks like an HTTP status uses it, else 500."""
    if code in ERROR_TABLE:
        return ERROR_TABLE[code][0]
    if code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    return 500


def default_message(code: str) -> str:
    if code in ERROR_TABLE:
        return ERROR_TABLE[code][1]
    return f"模拟错误 {code}。"


def invalid_parameter(field: str) -> "EmulatorError":
    """A 400/1214 naming the parameter, in the platform's '<field> 参数非法' wording."""
    return EmulatorError("1214", f"{field} 参数非法。请检查文档。")


class EmulatorError(Exception):
    """An error the emulator answers with instead of a reply."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or default_message(code)
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return status_for(self.code)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()
